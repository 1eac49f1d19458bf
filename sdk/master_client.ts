/**
 * The HTTP side of the scheduler API: POSTs calls to the leading master (following its 307s),
 * turns refusals into `SchedulerCallError`, and parses event records.
 */
import { type Call, type CallType, type Event, EventSchema } from "../protocol/mod.ts";
import { SchedulerCallError } from "./scheduler.ts";

const SCHEDULER_PATH = "api/v1/scheduler";
const MAX_REDIRECTS = 5;
const KNOWN_EVENTS: ReadonlySet<string> = new Set(
  EventSchema.options.map((o) => o.shape.type.value),
);

/** Sends scheduler calls; remembers where the leading master is once redirected there. */
export class MasterClient {
  #endpoint: URL;

  /** `master` is the base URL, e.g. `http://127.0.0.1:5050` (a path prefix is kept). */
  constructor(master: string) {
    this.#endpoint = new URL(SCHEDULER_PATH, master.endsWith("/") ? master : `${master}/`);
  }

  /** The scheduler endpoint of the master currently believed to lead. */
  get endpoint(): URL {
    return this.#endpoint;
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
    const body = JSON.stringify(call);
    for (let hop = 0;; hop++) {
      const url = this.#endpoint;
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers,
          body,
          redirect: "manual",
          signal: options.signal,
        });
      } catch (e) {
        const why = options.signal.aborted ? errorText(options.signal.reason) : errorText(e);
        throw new SchedulerCallError({
          callType: type,
          message: `${type} to ${url} failed: ${why}`,
        });
      }
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get("Location");
        await response.body?.cancel();
        if (!location || hop >= MAX_REDIRECTS) {
          throw new SchedulerCallError({
            callType: type,
            httpStatus: response.status,
            message: `${type} to ${url}: ${
              location ? "too many redirects" : "redirect without Location"
            }`,
          });
        }
        this.#endpoint = new URL(location, url); // `//host:port/path` keeps the scheme
        continue;
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
}

/** One RecordIO record of the event stream, parsed: an event, a kind to skip, or garbage. */
export type ParsedRecord =
  | { kind: "event"; event: Event }
  | { kind: "unknown"; type: string }
  | { kind: "invalid"; message: string };

/**
 * Parses one event record. Event types this SDK does not know (INVERSE_OFFERS,
 * UPDATE_OPERATION_STATUS, ...) come back as `unknown`, to be skipped, as Mesos clients do.
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
  const parsed = EventSchema.safeParse(json);
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
