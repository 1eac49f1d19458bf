/**
 * Reading a call's JSON body on the master's APIs: its `type`, and the call checked against its
 * schema by Mesos' reading rules (null = unset, numeric strings), with Mesos-style 400s.
 */
import type { z } from "zod";
import { badRequest } from "../../base/mod.ts";
import { parseMesosJson } from "../../protocol/mod.ts";

/** The call's `type` as sent ("" when the body has none). */
export function callType(body: unknown): string {
  return typeof body === "object" && body !== null && "type" in body ? String(body.type) : "";
}

/** `body` as `schema` reads it, or a 400 naming `what` and the first field at fault. */
export function parseBody<T>(
  body: unknown,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  what: string,
): T {
  const parsed = parseMesosJson(schema, body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.join(".") || "(body)";
  if (issue.code === "invalid_union_discriminator") {
    const type = typeof body === "object" && body !== null && "type" in body
      ? body.type
      : undefined;
    throw badRequest(
      type === undefined
        ? `Failed to validate ${what}: 'type' is required`
        : `Failed to validate ${what}: unknown call type ${JSON.stringify(type)}`,
    );
  }
  throw badRequest(`Failed to validate ${what}: '${path}': ${issue.message}`);
}
