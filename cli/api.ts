/**
 * HTTP to Tender's services with errors a person can act on: an unreachable service names
 * its address and how to point the CLI elsewhere; an error answer shows the server's message.
 * The master may be a list: requests go to the leader among them (`Masters`).
 */
import type { z } from "zod";
import { type MasterRequestInit, Masters } from "../base/mod.ts";
import { etcdMasterLeader } from "../store/mod.ts";
import { CliError, usageError } from "./errors.ts";
import type { Io } from "./io.ts";

/** The services the CLI talks to, with the flag and variable that set each address. */
export const SERVICES = {
  master: { flag: "--master", env: "TENDER_MASTER", fallback: "http://127.0.0.1:5050" },
  registry: { flag: "--registry", env: "TENDER_REGISTRY", fallback: "http://127.0.0.1:5000" },
  marathon: { flag: "--marathon", env: "TENDER_MARATHON", fallback: "http://127.0.0.1:8080" },
  jobs: { flag: "--jobs", env: "TENDER_JOBS", fallback: "http://127.0.0.1:9000" },
  agent: { flag: "", env: "", fallback: "" },
} as const;
export type Service = keyof typeof SERVICES;

/** Adds `http://` when missing and drops trailing slashes. */
export function normalizeUrl(url: string): string {
  const full = /^https?:\/\//.test(url) ? url : `http://${url}`;
  return full.replace(/\/+$/, "");
}

/** The most specific reason in an error's cause chain, e.g. "Connection refused". */
export function reason(error: unknown): string {
  let e: unknown = error, text = String(error);
  for (let i = 0; i < 5 && e instanceof Error; i++, e = e.cause) text = e.message;
  const known =
    /connection refused|timed out|name or service not known|no route to host|connection reset|certificate/i
      .exec(text);
  if (known) return known[0].toLowerCase().replace("name or service not known", "unknown host");
  return text.replace(/^.*?: /, "");
}

/** The masters named by `--master`/`TENDER_MASTER` (one URL or a list), asked with `io.fetch`. */
export function mastersOf(spec: string, io: Io): Masters {
  try {
    return new Masters(spec, { fetch: io.fetch, etcd: etcdMasterLeader() });
  } catch (e) {
    throw usageError(
      `invalid ${SERVICES.master.flag} (or ${SERVICES.master.env}): ${
        e instanceof Error ? e.message : e
      }`,
    );
  }
}

function unreachable(service: Service, base: string, error: unknown): CliError {
  const why = reason(error);
  const s = SERVICES[service];
  const hint = service === "agent"
    ? "is the agent running, and does its registered hostname resolve from here?"
    : `is \`deno task dev\` running? Point the CLI elsewhere with ${s.flag} URL or ${s.env}.`;
  return new CliError(`cannot reach the ${service} at ${base} (${why}): ${hint}`);
}

/** A client for one service at one base URL, or for the leader among several masters. */
export class Api {
  readonly #target: string | Masters;

  constructor(readonly service: Service, target: string | Masters, readonly io: Io) {
    this.#target = target;
  }

  /** The service's base URL (for masters: the leader once known, else the list). */
  get base(): string {
    const target = this.#target;
    return typeof target === "string" ? target : target.leader ?? target.text;
  }

  /** Sends a request; throws a `CliError` when the service cannot be reached. */
  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const target = this.#target;
    try {
      const signal = init.signal ?? this.io.signal;
      if (typeof target === "string") {
        return await this.io.fetch(`${target}${path}`, { ...init, signal });
      }
      return await target.fetch(path, { ...replayable(init), signal });
    } catch (e) {
      if (this.io.signal.aborted) throw new CliError("interrupted");
      throw unreachable(this.service, this.base, e);
    }
  }

  /** Sends a request and parses a 2xx JSON answer with `schema`; other answers throw. */
  async json<T>(
    path: string,
    schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    init: RequestInit = {},
  ): Promise<T> {
    const r = await this.raw(path, init);
    const text = await r.text();
    if (!r.ok) throw this.failure(r, path, text);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(`the ${this.service} at ${this.base} answered ${path} with non-JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CliError(
        `unexpected answer from the ${this.service} at ${this.base}${path}: ` +
          `'${issue.path.join(".")}' ${issue.message}. Is ${this.base} a Tender ${this.service}?`,
      );
    }
    return parsed.data;
  }

  /** The error for a non-2xx answer, with the server's own message. */
  failure(r: Response, path: string, text: string): CliError {
    const message = errorMessage(text) || r.statusText;
    const hint = r.status === 401
      ? " (give credentials: --principal NAME with --secret-file FILE or TENDER_SECRET, " +
        "or --token-file FILE or TENDER_TOKEN)"
      : "";
    return new CliError(`the ${this.service} refused ${path} (${r.status}): ${message}${hint}`);
  }
}

/** `init` for `Masters.fetch()`, which may send it twice (following a 307). */
function replayable(init: RequestInit): MasterRequestInit {
  const { body, redirect: _, ...rest } = init;
  if (body === undefined || body === null) return rest;
  if (typeof body === "string" || body instanceof ArrayBuffer) return { ...rest, body };
  throw new CliError("internal error: a streamed body cannot be sent to the masters");
}

/** The message of an error body: plain text, Marathon's `{message}` or the OCI `{errors}`. */
function errorMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      if ("message" in body && typeof body.message === "string") {
        // Marathon's 422: {message, details: [{path, errors: [...]}]}
        const details = "details" in body && Array.isArray(body.details)
          ? body.details.map((d: unknown) => {
            if (typeof d !== "object" || d === null) return String(d);
            const path = "path" in d ? String(d.path) : "";
            const errors = "errors" in d && Array.isArray(d.errors) ? d.errors.join(", ") : "";
            return `${path} ${errors}`.trim();
          })
          : [];
        return details.length > 0 ? `${body.message}: ${details.join("; ")}` : body.message;
      }
      if ("errors" in body && Array.isArray(body.errors)) {
        return body.errors.map((e: unknown) =>
          typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)
        ).join("; ");
      }
    }
  } catch { /* plain text */ }
  return text.trim().slice(0, 500);
}
