/**
 * Marathon's partial update: the fields of an update body replace the stored app's fields
 * one by one; fields the new form makes contradictory (ports when networking changes, `args`
 * when `cmd` is set, ...) are dropped from the stored side first.
 */
import type { App } from "../app/normalize.ts";

/** A decoded body as a JSON object; undefined for an array, null or a scalar. */
export function objectBody(body: unknown): Record<string, unknown> | undefined {
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? body as Record<string, unknown>
    : undefined;
}

/** Whether a body asks for a rollback: only `version` (and possibly `id`). */
export function rollbackVersion(body: unknown): string | undefined {
  const object = objectBody(body);
  if (!object) return undefined;
  const keys = Object.keys(object).filter((k) => k !== "id");
  const version = object["version"];
  return keys.length === 1 && typeof version === "string" ? version : undefined;
}

/** The raw app to parse for a partial update of `current` with `body`, under `id`. */
export function mergeUpdate(
  current: App | undefined,
  body: unknown,
  id: string,
): Record<string, unknown> {
  const update = { ...objectBody(body) };
  delete update["version"];
  delete update["versionInfo"];
  if (!current) return { ...update, id };
  const base: Record<string, unknown> = { ...current };
  delete base["version"];
  delete base["versionInfo"];
  const has = (k: string) => k in update;
  if (has("cmd")) delete base["args"];
  if (has("args")) delete base["cmd"];
  if (has("networks") || has("container") || has("ports") || has("ipAddress")) {
    if (!has("portDefinitions")) delete base["portDefinitions"];
    if (!has("networks")) delete base["networks"];
  }
  if (has("ports")) delete base["portDefinitions"];
  if (has("uris")) delete base["fetch"];
  return { ...base, ...update, id };
}
