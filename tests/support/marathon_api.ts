/** Marathon's REST API for tests: JSON calls that never hang, and the /v2/events stream. */
import { untilAborted } from "../../base/mod.ts";

// deno-lint-ignore no-explicit-any -- Marathon's JSON is read loosely by the tests
export type Json = any;

/** Sends `body` as JSON (when given) and answers the status and the parsed reply. */
export async function call(
  url: string,
  method = "GET",
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const r = await fetch(url, {
    method,
    signal: AbortSignal.timeout(15_000),
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

/** One Server-Sent Event from `/v2/events`: its type, parsed data, and when it was read. */
export interface MarathonEvent {
  type: string;
  data: Json;
  /** `performance.now()` when the event was read. */
  at: number;
}

/**
 * Reads `/v2/events` (only `eventType` when given) with fetch and a line parser, collecting
 * every event until `close()`.
 */
export function readEvents(
  url: string,
  eventType?: string,
): { events: MarathonEvent[]; close: () => Promise<void> } {
  const events: MarathonEvent[] = [];
  const abort = new AbortController();
  const query = eventType === undefined ? "" : `?event_type=${encodeURIComponent(eventType)}`;
  const done = (async () => {
    const r = await fetch(`${url}/v2/events${query}`, {
      headers: { accept: "text/event-stream" },
      signal: abort.signal,
    });
    let type = "message";
    let data: string[] = [];
    let buffer = "";
    const body = untilAborted(r.body!, abort.signal).pipeThrough(new TextDecoderStream());
    for await (const chunk of body) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (line === "") {
          if (data.length > 0) {
            events.push({ type, data: JSON.parse(data.join("\n")), at: performance.now() });
          }
          type = "message";
          data = [];
        } else if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  })().catch(() => {});
  return {
    events,
    close: async () => {
      abort.abort();
      await done;
    },
  };
}
