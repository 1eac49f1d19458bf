/**
 * A bare Mesos v1 HTTP scheduler client, as a third-party library would be: one fetch for the
 * SUBSCRIBE stream (RecordIO), plain POSTs for calls. Tests the wire, not the SDK.
 */
import type { Event, Offer } from "../../protocol/mod.ts";
import { decodeRecords, EventSchema } from "../../protocol/mod.ts";
import { untilAborted } from "../../base/mod.ts";
import { waitFor } from "./cluster.ts";

export class RawScheduler {
  readonly events: Event[] = [];
  streamId = "";
  frameworkId = "";
  readonly #abort = new AbortController();
  #reader: Promise<void> = Promise.resolve();

  constructor(readonly master: string) {}

  async subscribe(frameworkInfo: Record<string, unknown> = {}): Promise<void> {
    const response = await fetch(`${this.master}/api/v1/scheduler`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        type: "SUBSCRIBE",
        subscribe: {
          framework_info: { user: Deno.env.get("USER") || "root", name: "raw", ...frameworkInfo },
        },
      }),
      signal: this.#abort.signal,
    });
    if (response.status !== 200 || !response.body) {
      throw new Error(`SUBSCRIBE answered ${response.status}`);
    }
    this.streamId = response.headers.get("Mesos-Stream-Id") ?? "";
    const body = response.body;
    this.#reader = (async () => {
      // untilAborted: close() must end the read even if the body never errors on abort.
      for await (const record of decodeRecords(untilAborted(body, this.#abort.signal))) {
        this.events.push(EventSchema.parse(JSON.parse(record)));
      }
    })().catch(() => {});
    const subscribed = await waitFor(
      "SUBSCRIBED",
      () => this.events.find((e) => e.type === "SUBSCRIBED"),
    );
    if (subscribed.type === "SUBSCRIBED") {
      this.frameworkId = subscribed.subscribed.framework_id.value;
    }
  }

  offers(): Offer[] {
    return this.events.flatMap((e) => e.type === "OFFERS" ? e.offers.offers : []);
  }

  /** POSTs a call with this stream's id; `body` may be raw text. */
  async call(body: unknown): Promise<{ status: number; text: string }> {
    const r = await fetch(`${this.master}/api/v1/scheduler`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Mesos-Stream-Id": this.streamId },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#reader;
  }
}
