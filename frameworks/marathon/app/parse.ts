/**
 * The edge where a submitted app enters: body text (JSON or YAML) decoded, types checked by
 * the schema, legacy rules checked, normalised, then Marathon's rules applied. Every failure is
 * a `TenderError` carrying Marathon's status and body.
 */
import { parse as parseYaml } from "yaml";
import { checkDecoded, jsonDepth, LIMITS, parseJson, TenderError } from "../../../base/mod.ts";
import { type App, normalizeApp } from "./normalize.ts";
import { AppInputSchema } from "./schema.ts";
import { validateApp } from "./validate.ts";
import { validateLegacy } from "./validate_legacy.ts";
import { malformedJson, typeViolations, type Violation } from "./violations.ts";

/** Decodes a request body: YAML when the content type says so, JSON otherwise. */
export function decodeBody(text: string, contentType = "application/json"): unknown {
  if (text.trim() === "") {
    throw new TenderError(
      "bad_request",
      "Please specify data in JSON format",
      "No content to map due to end-of-input",
    );
  }
  if (/yaml|yml/i.test(contentType)) {
    if (jsonDepth(text) > LIMITS.jsonDepth) {
      throw new TenderError("bad_request", "Invalid YAML", "nested too deep");
    }
    let value: unknown;
    try {
      value = parseYaml(text, { maxAliasCount: 100 });
    } catch (e) {
      throw new TenderError(
        "bad_request",
        "Invalid YAML",
        e instanceof Error ? e.message : String(e),
      );
    }
    try {
      return checkDecoded(value);
    } catch (e) {
      throw new TenderError("bad_request", "Invalid YAML", (e as Error).message);
    }
  }
  try {
    return parseJson(text);
  } catch (e) {
    throw malformedJson(e instanceof Error ? e.message : String(e));
  }
}

/** Options for `parseApp`. */
export interface ParseAppOptions {
  /** The group relative ids resolve against (default `/`). */
  base?: string;
}

/** The result of checking an app without throwing. */
export type AppCheck =
  | { ok: true; app: App }
  | { ok: false; message: "Invalid JSON" | "Object is not valid"; details: Violation[] };

/** Checks a decoded body as an app definition; answers the canonical app or the violations. */
export function checkApp(raw: unknown, options: ParseAppOptions = {}): AppCheck {
  const parsed = AppInputSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, message: "Invalid JSON", details: typeViolations(parsed.error.issues) };
  }
  const legacy = validateLegacy(parsed.data);
  if (legacy.length > 0) return { ok: false, message: "Object is not valid", details: legacy };
  const app = normalizeApp(parsed.data, options.base);
  const violations = validateApp(app, { rawId: parsed.data.id, base: options.base });
  if (violations.length > 0) {
    return { ok: false, message: "Object is not valid", details: violations };
  }
  return { ok: true, app };
}

/** Parses a decoded body as an app definition; throws Marathon's 422 when it is not valid. */
export function parseApp(raw: unknown, options: ParseAppOptions = {}): App {
  const r = checkApp(raw, options);
  if (r.ok) return r.app;
  throw new TenderError("unprocessable", r.message, r.details);
}

/** Re-reads a stored canonical app (a KV value) through the same schema. */
export function readStoredApp(raw: unknown): App {
  return normalizeApp(AppInputSchema.parse(raw));
}
