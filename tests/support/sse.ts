/** Server-Sent Events as the tests read them from the master's streams. */

/** A named event and its JSON data. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Splits named events with JSON data out of a stream as its chunks arrive; comments, keep-alives
 * and events without a name or data are skipped.
 */
export class SseParser {
  #buffer = "";
  readonly #decoder = new TextDecoder();

  /** Adds a chunk; answers the events it completed, in order. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.#buffer += typeof chunk === "string"
      ? chunk
      : this.#decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let cut;
    while ((cut = this.#buffer.indexOf("\n\n")) >= 0) {
      const block = this.#buffer.slice(0, cut);
      this.#buffer = this.#buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
    }
    return events;
  }
}
