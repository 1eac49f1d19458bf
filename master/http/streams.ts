/** Open RecordIO event streams, by owner (framework or agent id) and stream id. */
import { encodeRecord } from "../../protocol/mod.ts";

interface OpenStream {
  streamId: string;
  controller: ReadableStreamDefaultController<Uint8Array>;
  owner?: string;
}

/** Keeps the live streams of one kind (schedulers, or agents) and writes events to them. */
export class StreamHub {
  readonly #byStream = new Map<string, OpenStream>();
  readonly #byOwner = new Map<string, OpenStream>();

  /**
   * A new stream. `onClose` runs once when the peer goes away (not when the hub closes it).
   */
  open(streamId: string, onClose: (owner: string | undefined) => void): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#byStream.set(streamId, { streamId, controller });
      },
      cancel: () => {
        const s = this.#byStream.get(streamId);
        this.#forget(streamId);
        onClose(s?.owner);
      },
    });
  }

  /** Names the owner of a stream once it is known (after SUBSCRIBE is handled). */
  bind(streamId: string, owner: string): void {
    const s = this.#byStream.get(streamId);
    if (!s) return;
    s.owner = owner;
    this.#byOwner.set(owner, s);
  }

  /** Writes one event to the owner's stream; false when it has none. */
  send(owner: string, event: unknown): boolean {
    const s = this.#byOwner.get(owner);
    if (!s) return false;
    try {
      s.controller.enqueue(encodeRecord(event));
      return true;
    } catch {
      this.#forget(s.streamId);
      return false;
    }
  }

  /** Writes one event to every stream that has an owner. */
  broadcast(event: unknown): void {
    for (const owner of [...this.#byOwner.keys()]) this.send(owner, event);
  }

  /** Closes a stream (the owner's current one, or only if it is `streamId`), after an optional last event. */
  close(owner: string, options: { streamId?: string; last?: unknown } = {}): void {
    const s = options.streamId ? this.#byStream.get(options.streamId) : this.#byOwner.get(owner);
    if (!s) return;
    if (options.last !== undefined) {
      try {
        s.controller.enqueue(encodeRecord(options.last));
      } catch { /* already closed */ }
    }
    this.#forget(s.streamId);
    try {
      s.controller.close();
    } catch { /* already closed */ }
  }

  /** Closes everything (shutdown). */
  closeAll(): void {
    for (const s of [...this.#byStream.values()]) {
      this.close(s.owner ?? "", { streamId: s.streamId });
    }
  }

  #forget(streamId: string): void {
    const s = this.#byStream.get(streamId);
    this.#byStream.delete(streamId);
    if (s?.owner && this.#byOwner.get(s.owner) === s) this.#byOwner.delete(s.owner);
  }
}
