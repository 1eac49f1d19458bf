/**
 * Metronome's validation envelope: `{"message": "Object is not valid", "details": [{path,
 * errors}]}`, with Play's paths (`/run/args(0)`), as its JSON-schema and model checks answer.
 */
import type { ZodIssue } from "zod";
import { TenderError } from "../../../base/mod.ts";

/** One path and its error messages, as in Metronome's `details`. */
export interface Violation {
  path: string;
  errors: string[];
}

/** A key path as Play renders it: fields as `/name`, indices as `(i)`. */
export function renderPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `(${p})` : `/${p}`;
  return out === "" ? "/" : out;
}

/** Collects messages per path, in first-seen order. */
export class Violations {
  readonly #byPath = new Map<string, string[]>();

  add(path: readonly (string | number)[], message: string): void {
    const key = renderPath(path);
    const list = this.#byPath.get(key) ?? [];
    if (!list.includes(message)) list.push(message);
    this.#byPath.set(key, list);
  }

  addIssues(issues: readonly ZodIssue[], prefix: readonly (string | number)[] = []): void {
    for (const issue of issues) this.add([...prefix, ...issue.path], issueMessage(issue));
  }

  get isEmpty(): boolean {
    return this.#byPath.size === 0;
  }

  list(): Violation[] {
    return [...this.#byPath].map(([path, errors]) => ({ path, errors }));
  }

  /** Throws the 422 when anything was recorded. */
  throwIfAny(): void {
    if (!this.isEmpty) throw objectNotValid(this.list());
  }
}

/** The 422 Metronome answers for a body its schema or model rules refuse. */
export function objectNotValid(violations: readonly Violation[]): TenderError {
  return new TenderError("unprocessable", "Object is not valid", violations);
}

function issueMessage(issue: ZodIssue): string {
  if (issue.code === "invalid_type" && issue.received === "undefined") {
    return "error.path.missing";
  }
  if (issue.code === "unrecognized_keys") {
    return `Additional properties are not allowed: ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return issue.message;
}
