/**
 * The edge where a submitted pod enters: types checked by the schema (422 "Invalid JSON"),
 * the id resolved, Marathon's rules and Tender's limits applied (422 "Object is not valid").
 */
import { TenderError } from "../../../base/mod.ts";
import { resolvePathId } from "../app/path_id.ts";
import { typeViolations, type Violation } from "../app/violations.ts";
import { type Pod, PodSchema } from "./schema.ts";
import { validatePod } from "./validate.ts";

/** The result of checking a pod without throwing. */
export type PodCheck =
  | { ok: true; pod: Pod }
  | { ok: false; message: "Invalid JSON" | "Object is not valid"; details: Violation[] };

/** Checks a decoded body as a pod definition; answers the canonical pod or the violations. */
export function checkPod(raw: unknown): PodCheck {
  const parsed = PodSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, message: "Invalid JSON", details: typeViolations(parsed.error.issues) };
  }
  const { versionInfo: _internal, ...submitted } = parsed.data;
  const pod: Pod = { ...submitted, id: resolvePathId(parsed.data.id) };
  const violations = validatePod(pod, { rawId: parsed.data.id });
  if (violations.length > 0) {
    return { ok: false, message: "Object is not valid", details: violations };
  }
  return { ok: true, pod };
}

/** Parses a decoded body as a pod; throws Marathon's 422 when it is not valid. */
export function parsePod(raw: unknown): Pod {
  const r = checkPod(raw);
  if (r.ok) return r.pod;
  throw new TenderError("unprocessable", r.message, r.details);
}

/** Re-reads a stored pod (a KV value) through the same schema. */
export function readStoredPod(raw: unknown): Pod {
  return PodSchema.parse(raw);
}

/** A pod as Marathon shows it (Tender's own bookkeeping left out). */
export function podJson(pod: Pod): Record<string, unknown> {
  const { versionInfo: _internal, ...shown } = pod;
  return shown;
}
