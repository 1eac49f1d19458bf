/** Appends to files on a worker thread (see write_worker.ts); the main thread only hands off buffers. */
import type { WriteReply, WriteRequest } from "./write_worker.ts";

/** One worker shared by all uploads of a blob store. Ordering per file is the caller's job. */
export class FileWriter {
  #worker: Worker | undefined;
  #seq = 0;
  readonly #waiting = new Map<number, { resolve: (r: WriteReply) => void }>();

  /** Starts the worker now rather than at the first write. */
  start(): void {
    this.#spawn();
  }

  #spawn(): Worker {
    if (!this.#worker) {
      this.#worker = new Worker(new URL("./write_worker.ts", import.meta.url), { type: "module" });
      this.#worker.onmessage = (event: MessageEvent<WriteReply>) => {
        const waiter = this.#waiting.get(event.data.seq);
        this.#waiting.delete(event.data.seq);
        waiter?.resolve(event.data);
      };
    }
    return this.#worker;
  }

  #send(request: WriteRequest, transfer: Transferable[]): Promise<WriteReply> {
    const worker = this.#spawn();
    const { promise, resolve } = Promise.withResolvers<WriteReply>();
    this.#waiting.set(request.seq, { resolve });
    worker.postMessage(request, transfer);
    return promise;
  }

  /** Appends `length` bytes of `buffer` (transferred away) to `path`; resolves with the buffer back. */
  async write(
    path: string,
    buffer: ArrayBuffer,
    length: number,
    syncEvery: number,
  ): Promise<ArrayBuffer> {
    const seq = ++this.#seq;
    const reply = await this.#send({ type: "write", seq, path, buffer, length, syncEvery }, [
      buffer,
    ]);
    if (reply.error !== undefined) throw new Error(`Cannot write ${path}: ${reply.error}`);
    return reply.buffer ?? new ArrayBuffer(buffer.byteLength);
  }

  /** Ends writes to `path`: the worker flushes what is left in the background, then closes it. */
  async close(path: string): Promise<void> {
    const reply = await this.#send({ type: "close", seq: ++this.#seq, path }, []);
    if (reply.error !== undefined) throw new Error(`Cannot close ${path}: ${reply.error}`);
  }

  /** Stops the worker. */
  terminate(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const waiter of this.#waiting.values()) {
      waiter.resolve({ seq: -1, error: "writer closed" });
    }
    this.#waiting.clear();
  }
}
