/**
 * The HTTP side of the scheduler API: POSTs calls to the leading master (`Masters`: 307s are
 * followed, a master that refuses connections is passed over for the one the others name),
 * turns refusals into `SchedulerCallError`, and parses event records.
 */
import {
  type Call,
  type CallType,
  type Event,
  EventSchema,
  parseMesosJson,
} from "../protocol/mod.ts";
import { Masters } from "../base/mod.ts";
import type { ClientSecurity } from "../security/mod.ts";
import { SchedulerCallError } from "./scheduler.ts";

const SCHEDULER_PATH = "/api/v1/scheduler";
const KNOWN_EVENTS: ReadonlySet<string> = new Set(
  EventSchema.options.map((o) => o.shape.type.value),
);

/** Sends scheduler calls to whichever master leads. */
export class MasterClient {
  readonly #masters: Masters;

  /**
   * `master` is a base URL (`http://127.0.0.1:5050`, a path prefix is kept), a comma-separated
   * list of them, or a `Masters`. `security` (for a string) adds credentials to every request
   * and verifies an `https` master with its CA.
   */
  constructor(master: string | Masters, options: { security?: ClientSecurity } = {}) {
    this.#masters = Masters.from(master, { fetch: options.security?.fetch });
  }

  /** The masters calls go to (the leader among them). */
  get masters(): Masters {
    return this.#masters;
  }

  /** The scheduler endpoint of the master currently believed to lead. */
  get endpoint(): URL {
    return new URL(`${this.#masters.current}${SCHEDULER_PATH}`);
  }

  /**
   * POSTs a call as JSON (with the stream id when given) and returns the 2xx response, whose
   * body the caller must consume or cancel. Throws `SchedulerCallError` on anything else.
   */
  async post(call: Call, options: { signal: AbortSignal; streamId?: string }): Promise<Response> {
    const type: CallType = call.type;
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Accept": "application/json",
      ...(options.streamId ? { "Mesos-Stream-Id": options.streamId } : {}),
    };
    let response: Response;
    try {
      response = await this.#masters.fetch(SCHEDULER_PATH, {
        method: "POST",
        headers,
        body: JSON.stringify(call),
        signal: options.signal,
      });
    } catch (e) {
      const why = options.signal.aborted ? errorText(options.signal.reason) : errorText(e);
      throw new SchedulerCallError({
        callType: type,
        message: `${type} to ${this.endpoint} failed: ${why}`,
      });
    }
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      throw new SchedulerCallError({
        callType: type,
        httpStatus: response.status,
        body: text,
        message: `Master refused ${type} with ${response.status}: ${
          text.trim() || response.statusText
        }`,
      });
    }
    return response;
  }
}

/** One RecordIO record of the event stream, parsed: an event, a kind to skip, or garbage. */
export type ParsedRecord =
  | { kind: "event"; event: Event }
  | { kind: "unknown"; type: string }
  | { kind: "invalid"; message: string };

/**
 * Parses one event record. Event types this SDK does not know (UPDATE_OPERATION_STATUS,
 * ...) come back as `unknown`, to be skipped, as Mesos clients do.
 */
export function parseEventRecord(text: string): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "invalid", message: `an event that is not JSON: ${text.slice(0, 80)}` };
  }
  const type = typeof json === "object" && json !== null && "type" in json ? json.type : undefined;
  if (typeof type !== "string") return { kind: "invalid", message: "an event without a type" };
  if (!KNOWN_EVENTS.has(type)) return { kind: "unknown", type };
  const parsed = parseMesosJson(EventSchema, json);
  if (parsed.success) return { kind: "event", event: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    kind: "invalid",
    message: `an invalid ${type} event: ${issue?.path.join(".")}: ${issue?.message}`,
  };
}

/** Standard base64 of bytes (Mesos' JSON form of `bytes` fields). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Bytes of a base64 text; throws on invalid base64. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
