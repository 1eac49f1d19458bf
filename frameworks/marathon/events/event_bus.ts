/**
 * Marathon's event stream: events published by the service and the scheduler fan out to
 * every `/v2/events` subscriber as server-sent events (`event: <type>\ndata: <json>\n\n`).
 * Each payload carries `eventType` and an ISO `timestamp`. A subscriber that falls more than
 * `maxQueued` events behind is disconnected (as Marathon drops slow consumers).
 */
import type { Clock } from "../../../base/mod.ts";

/** One published event. */
export interface MarathonEvent {
  eventType: string;
  timestamp: string;
  [field: string]: unknown;
}

/** Options for a subscription. */
export interface SubscribeOptions {
  /** Only these event types (Marathon's `event_type` query parameter); all when empty. */
  eventTypes?: readonly string[];
  remoteAddress?: string;
  /** Only the events this says the subscriber may see (its ACLs); all when absent. */
  visible?: (event: MarathonEvent) => boolean;
}

interface Subscriber {
  controller: ReadableStreamDefaultController<Uint8Array>;
  filter: ReadonlySet<string>;
  visible?: (event: MarathonEvent) => boolean;
}

/** Fans events out to SSE subscribers and to in-process listeners. */
export class EventBus {
  readonly #clock: Clock;
  readonly #maxQueued: number;
  readonly #subscribers = new Set<Subscriber>();
  readonly #listeners = new Set<(e: MarathonEvent) => void>();
  readonly #encoder = new TextEncoder();

  constructor(clock: Clock, options: { maxQueued?: number } = {}) {
    this.#clock = clock;
    this.#maxQueued = options.maxQueued ?? 1000;
  }

  /** Publishes an event of `eventType` with `payload` fields. */
  publish(eventType: string, payload: Record<string, unknown> = {}): MarathonEvent {
    const event: MarathonEvent = {
      ...payload,
      eventType,
      timestamp: new Date(this.#clock.now()).toISOString(),
    };
    for (const l of this.#listeners) l(event);
    for (const s of this.#subscribers) this.#send(s, event);
    return event;
  }

  /** Calls `listener` for every event until the returned function is called. */
  listen(listener: (e: MarathonEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of open SSE subscriptions. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** A byte stream of SSE frames, opened with `event_stream_attached`; cancel to detach. */
  subscribe(options: SubscribeOptions = {}): ReadableStream<Uint8Array> {
    let subscriber: Subscriber | undefined;
    const filter = new Set(options.eventTypes ?? []);
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        subscriber = { controller, filter, visible: options.visible };
        this.#subscribers.add(subscriber);
        this.#send(subscriber, {
          eventType: "event_stream_attached",
          timestamp: new Date(this.#clock.now()).toISOString(),
          remoteAddress: options.remoteAddress ?? "",
        });
      },
      cancel: () => {
        if (subscriber) this.#subscribers.delete(subscriber);
      },
    }, { highWaterMark: this.#maxQueued });
  }

  /** Ends every subscription (on shutdown). */
  close(): void {
    for (const s of this.#subscribers) {
      try {
        s.controller.close();
      } catch {
        // already closed
      }
    }
    this.#subscribers.clear();
  }

  #send(s: Subscriber, event: MarathonEvent): void {
    if (s.filter.size > 0 && !s.filter.has(event.eventType)) return;
    if (s.visible && event.eventType !== "event_stream_attached" && !s.visible(event)) return;
    if ((s.controller.desiredSize ?? 0) <= 0) {
      this.#subscribers.delete(s);
      try {
        s.controller.error(new Error("slow consumer disconnected"));
      } catch {
        // already gone
      }
      return;
    }
    const frame = `event: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`;
    s.controller.enqueue(this.#encoder.encode(frame));
  }
}
