/**
 * Limits on what a request may hold, in one place: body size, JSON nesting and array length,
 * numbers, ids that become file names, and the size of a stored record. Every server parses
 * JSON bodies with `parseJson` and checks path-bound ids with `pathSafeId`; what breaks a limit
 * is a 4xx `TenderError` naming the value, never a crash or a half-made change.
 */
import { serialize } from "node:v8";
import { badRequest, TenderError } from "./errors.ts";

/** The limits, with their defaults. */
export const LIMITS = {
  /** Bytes of a request body (streaming uploads of the registry have their own). */
  bodyBytes: 4 * 1024 * 1024,
  /** How long a client may take to send a body once its headers are in. */
  bodyDeadlineMs: 30_000,
  /** Nesting of objects and arrays in a JSON body. */
  jsonDepth: 64,
  /** Elements of one JSON array. */
  jsonArrayLength: 10_000,
  /** Characters of an id (framework, agent, task, app path, upload). */
  idLength: 255,
  /**
   * Characters of a name, label key or label value. Real app files carry big labels (DC/OS
   * package definitions run to 4–10 KiB); the record limit still bounds what is stored.
   */
  labelLength: 32 * 1024,
  /** Bytes of one stored record: Deno KV refuses values over 64 KiB; a little is kept spare. */
  recordBytes: 60 * 1024,
  /** Largest scalar a resource may have: beyond it, milli-units lose integer precision. */
  scalar: 1e12,
  /** Bytes of one event-stream record a client accepts (RecordIO). */
  streamRecordBytes: 16 * 1024 * 1024,
  /** Event streams (operator, catalog, dashboard, Marathon events) open at once per client. */
  streamsPerClient: 32,
} as const;

/**
 * Parses JSON text, refusing what would crash or poison the code behind it: nesting deeper
 * than `LIMITS.jsonDepth` (recursive code such as zod, `JSON.stringify` and the store's
 * serialiser would overflow the stack), arrays longer than `LIMITS.jsonArrayLength`, and
 * numbers JSON can write but not represent (`1e400` parses as Infinity). Throws
 * `bad_request` naming the problem.
 */
export function parseJson(text: string, what = "body"): unknown {
  const depth = jsonDepth(text);
  if (depth > LIMITS.jsonDepth) {
    throw badRequest(
      `Failed to parse ${what} into JSON: nested ${depth} levels deep, more than ${LIMITS.jsonDepth}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (typeof v === "number" && !Number.isFinite(v)) {
        throw new LimitError(`the number at "${key}" is out of range (${String(v)})`);
      }
      if (Array.isArray(v) && v.length > LIMITS.jsonArrayLength) {
        throw new LimitError(
          `the array at "${key}" has ${v.length} elements, more than ${LIMITS.jsonArrayLength}`,
        );
      }
      return v;
    });
  } catch (e) {
    if (e instanceof LimitError) throw badRequest(`Failed to parse ${what}: ${e.message}`);
    throw badRequest(`Failed to parse ${what} into JSON: ${(e as Error).message}`);
  }
  return value;
}

class LimitError extends Error {}

/**
 * Checks a value decoded by another parser (YAML) against the same limits as `parseJson`:
 * nesting, array length, finite numbers. Iterative, so deep input cannot overflow the stack.
 */
export function checkDecoded(value: unknown, what = "body"): unknown {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw badRequest(`Failed to parse ${what}: a number is out of range (${String(v)})`);
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth >= LIMITS.jsonDepth) {
      throw badRequest(`Failed to parse ${what}: nested more than ${LIMITS.jsonDepth} levels deep`);
    }
    const children = Array.isArray(v) ? v : Object.values(v);
    if (Array.isArray(v) && v.length > LIMITS.jsonArrayLength) {
      throw badRequest(
        `Failed to parse ${what}: an array has ${v.length} elements, more than ${LIMITS.jsonArrayLength}`,
      );
    }
    for (const child of children) stack.push({ v: child, depth: depth + 1 });
  }
  return value;
}

/** The deepest nesting of `[`/`{` in JSON text, outside strings; one linear pass, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * Checks an id that will become (part of) a file or directory name — a task id in a sandbox
 * path, a log file, an upload id — and returns it. Refused: empty, longer than
 * `LIMITS.idLength`, `.` or `..`, and any `/`, `\`, NUL or other control character (so no
 * encoded separator survives decoding into one).
 */
export function pathSafeId(what: string, id: string): string {
  const problem = pathIdProblem(id);
  if (problem !== undefined) {
    throw badRequest(`Invalid ${what} ${JSON.stringify(id.slice(0, 80))}: ${problem}`);
  }
  return id;
}

/** Why `id` cannot be a file name, or undefined when it can. */
export function pathIdProblem(id: string): string | undefined {
  if (id.length === 0) return "it is empty";
  if (id.length > LIMITS.idLength) return `it is longer than ${LIMITS.idLength} characters`;
  if (id === "." || id === "..") return "it names a directory";
  // deno-lint-ignore no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(id)) {
    return "it holds a path separator or control character";
  }
  return undefined;
}

/**
 * Bytes a value takes in Deno KV (V8's serialisation, as KV stores it). Records are checked
 * against `LIMITS.recordBytes` before anything changes, since KV refuses a larger value only
 * when the commit is tried.
 */
export function storedSize(value: unknown): number {
  return serialize(value).byteLength;
}

/**
 * An upper bound on `storedSize(value)` for plain data (objects, arrays, strings, numbers,
 * booleans, null), walked in JS: a string takes at most its tag, length and two bytes a code
 * unit, a number ten bytes, an object or array its tags and counts. Anything else (a typed
 * array, a Map, a cycle), or a bound past `stopAt`, gives `Infinity`. Serialising a task record
 * to measure it took several per cent of the master's CPU at scale; records are mostly far
 * under the limit, which the bound says without serialising.
 */
export function storedSizeBound(value: unknown, stopAt = Infinity): number {
  let total = 2; // version header
  const walk = (v: unknown, depth: number): boolean => {
    if (total > stopAt || depth > 256) return false;
    switch (typeof v) {
      case "string":
        total += 2 * v.length + 7;
        return true;
      case "number":
        total += 10;
        return true;
      case "boolean":
      case "undefined":
        total += 1;
        return true;
      case "object": {
        if (v === null) {
          total += 1;
          return true;
        }
        if (Array.isArray(v)) {
          total += 17;
          for (const item of v) if (!walk(item, depth + 1)) return false;
          return true;
        }
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) return false;
        total += 7;
        for (const key in v) {
          if (!Object.hasOwn(v, key)) continue;
          total += 2 * key.length + 7;
          if (!walk((v as Record<string, unknown>)[key], depth + 1)) return false;
        }
        return true;
      }
      default:
        return false;
    }
  };
  return walk(value, 0) && total <= stopAt ? total : Infinity;
}

/** Whether `value` fits in one stored record (exactly measured only when the bound says no). */
export function fitsStoredRecord(value: unknown): boolean {
  return storedSizeBound(value, LIMITS.recordBytes) <= LIMITS.recordBytes ||
    storedSize(value) <= LIMITS.recordBytes;
}

/** Throws `payload_too_large` when `value` will not fit in one stored record. */
export function checkRecordSize(what: string, value: unknown): void {
  if (storedSizeBound(value, LIMITS.recordBytes) <= LIMITS.recordBytes) return;
  const size = storedSize(value);
  if (size > LIMITS.recordBytes) {
    throw new TenderError(
      "payload_too_large",
      `${what} is too large to store: ${size} bytes, more than ${LIMITS.recordBytes}`,
    );
  }
}

/**
 * Whether `host` is a bare host name or IP address: nothing a URL would read as a path, query,
 * user or port. Agents' self-reported hostnames must be, since the master builds URLs of them.
 */
export function isPlainHost(host: string): boolean {
  if (host.includes(":")) return /^[0-9A-Za-z:.%]+$/.test(host); // IPv6, maybe with a zone
  return /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?$/.test(host);
}
