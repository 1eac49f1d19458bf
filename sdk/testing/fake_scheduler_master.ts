/**
 * A small in-process master peer speaking the scheduler API over real HTTP on 127.0.0.1, for
 * testing drivers and frameworks: it records every call, streams the events a test sends,
 * and answers scripted statuses on demand.
 */
import {
  type Call,
  CallSchema,
  type CallType,
  encodeRecord,
  type Event,
} from "../../protocol/mod.ts";

/** One request the fake master received. */
export interface RecordedCall {
  /** The parsed call, or undefined when its body was not a valid call. */
  call: Call | undefined;
  /** The call type as sent, even when the body did not parse. */
  type: string;
  headers: Headers;
  /** Which SUBSCRIBE connection was current when the call arrived (its stream id). */
  currentStreamId: string | undefined;
}

/** A scripted answer for the next call of some type. */
export interface ScriptedAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** Options of `FakeSchedulerMaster.start()`. */
export interface FakeSchedulerMasterOptions {
  /** Sent in SUBSCRIBED; default 15. */
  heartbeatIntervalSeconds?: number;
  /** Whether the fake sends HEARTBEAT events by itself every interval; default true. */
  heartbeats?: boolean;
  /** Port on 127.0.0.1; default 0 (any free one). */
  port?: number;
}

interface OpenStream {
  id: string;
  frameworkId: string;
  controller: ReadableStreamDefaultController<Uint8Array>;
  timer: ReturnType<typeof setInterval> | undefined;
  closed: boolean;
}

/** The fake master. `start()` it, point a driver at `url`, `close()` it at the end. */
export class FakeSchedulerMaster {
  /** Every request received, in order, SUBSCRIBE included. */
  readonly calls: RecordedCall[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #options: Required<Omit<FakeSchedulerMasterOptions, "port">>;
  readonly #scripts = new Map<string, ScriptedAnswer[]>();
  readonly #streams = new Set<OpenStream>();
  #current: OpenStream | undefined;
  #frameworks = 0;
  #streamCount = 0;

  private constructor(options: FakeSchedulerMasterOptions) {
    this.#options = {
      heartbeatIntervalSeconds: options.heartbeatIntervalSeconds ?? 15,
      heartbeats: options.heartbeats ?? true,
    };
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Listens on a free port of 127.0.0.1. */
  static start(options: FakeSchedulerMasterOptions = {}): FakeSchedulerMaster {
    return new FakeSchedulerMaster(options);
  }

  /** The base URL, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The stream id of the current SUBSCRIBE connection, if one is open. */
  get streamId(): string | undefined {
    return this.#current?.closed ? undefined : this.#current?.id;
  }

  /** The recorded calls of one type. */
  callsOf(type: CallType): RecordedCall[] {
    return this.calls.filter((c) => c.type === type);
  }

  /** The next call of `type` (SUBSCRIBE included) gets this answer instead of the normal one. */
  answerNext(type: CallType, answer: ScriptedAnswer): void {
    const list = this.#scripts.get(type) ?? [];
    list.push(answer);
    this.#scripts.set(type, list);
  }

  /** Sends an event on the current stream. Throws when no subscriber is connected. */
  send(event: Event): void {
    this.sendRaw(event);
  }

  /** Sends any JSON record (e.g. an event kind the protocol module does not know). */
  sendRaw(record: unknown): void {
    const stream = this.#current;
    if (!stream || stream.closed) throw new Error("FakeSchedulerMaster: no subscriber to send to");
    stream.controller.enqueue(encodeRecord(record));
  }

  /** Ends the current event stream, as a master that drops a framework's connection. */
  dropStream(): void {
    if (this.#current) this.#closeStream(this.#current);
  }

  /** Resolves with `probe()`'s first defined result, polling until `timeoutMs` (default 5 s). */
  async waitFor<T>(
    probe: () => T | undefined | false,
    options: { timeoutMs?: number; what?: string } = {},
  ): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    while (true) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) {
        throw new Error(
          `FakeSchedulerMaster: timed out waiting for ${options.what ?? "a condition"}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Closes every stream and stops listening. */
  async close(): Promise<void> {
    for (const stream of this.#streams) this.#closeStream(stream);
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== "/api/v1/scheduler") {
      return new Response("Not found", { status: 404 });
    }
    if (request.method !== "POST") return new Response("Expecting POST", { status: 405 });
    const text = await request.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = CallSchema.safeParse(json);
    const type = typeof json === "object" && json !== null && "type" in json
      ? String(json.type)
      : "UNKNOWN";
    this.calls.push({
      call: parsed.success ? parsed.data : undefined,
      type,
      headers: request.headers,
      currentStreamId: this.streamId,
    });
    const scripted = this.#scripts.get(type)?.shift();
    if (scripted) {
      return new Response(scripted.body ?? null, {
        status: scripted.status,
        headers: scripted.headers ?? {},
      });
    }
    if (!request.headers.get("Content-Type")?.startsWith("application/json")) {
      return new Response("Expecting 'Content-Type' of application/json", { status: 415 });
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return new Response(`Failed to validate call: ${issue?.path.join(".")}: ${issue?.message}`, {
        status: 400,
      });
    }
    const call = parsed.data;
    const streamHeader = request.headers.get("Mesos-Stream-Id");
    if (call.type === "SUBSCRIBE") {
      if (streamHeader) {
        return new Response("Subscribe calls should not include the 'Mesos-Stream-Id' header", {
          status: 400,
        });
      }
      return this.#subscribe(call.framework_id?.value);
    }
    if (!this.#current || this.#current.closed) {
      return new Response("Framework is not subscribed", { status: 403 });
    }
    if (call.framework_id.value !== this.#current.frameworkId) {
      return new Response("Framework cannot be found", { status: 400 });
    }
    if (streamHeader !== this.#current.id) {
      return new Response(
        `The stream ID '${
          streamHeader ?? ""
        }' included in this request didn't match the stream ID currently associated with framework ID ${this.#current.frameworkId}`,
        { status: 400 },
      );
    }
    return new Response(null, { status: 202 });
  }

  #subscribe(frameworkId: string | undefined): Response {
    if (this.#current) this.#closeStream(this.#current);
    const id = frameworkId ?? `fake-master-${String(++this.#frameworks).padStart(4, "0")}`;
    const streamId = `stream-${++this.#streamCount}`;
    const interval = this.#options.heartbeatIntervalSeconds;
    let opened: OpenStream | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        opened = { id: streamId, frameworkId: id, controller, timer: undefined, closed: false };
        controller.enqueue(encodeRecord({
          type: "SUBSCRIBED",
          subscribed: { framework_id: { value: id }, heartbeat_interval_seconds: interval },
        }));
        if (this.#options.heartbeats) {
          const stream = opened;
          stream.timer = setInterval(() => {
            if (!stream.closed) controller.enqueue(encodeRecord({ type: "HEARTBEAT" }));
          }, interval * 1000);
        }
      },
      cancel: () => {
        if (opened) this.#closeStream(opened);
      },
    });
    if (!opened) throw new Error("ReadableStream did not start synchronously");
    this.#streams.add(opened);
    this.#current = opened;
    return new Response(body, {
      status: 200,
      headers: { "Content-Type": "application/json", "Mesos-Stream-Id": streamId },
    });
  }

  #closeStream(stream: OpenStream): void {
    if (stream.closed) return;
    stream.closed = true;
    clearInterval(stream.timer);
    this.#streams.delete(stream);
    try {
      stream.controller.close();
    } catch {
      // already cancelled by the client
    }
  }
}
