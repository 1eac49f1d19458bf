/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * Worker half of `FileWriter`: appends buffers to files on its own thread, so that disk writes
 * do not hold up the main thread that reads request bodies. Each buffer is transferred here and
 * back, never copied. Started only by `FileWriter`.
 */

/** A request to the worker. */
export type WriteRequest =
  | {
    type: "write";
    seq: number;
    path: string;
    buffer: ArrayBuffer;
    length: number;
    syncEvery: number;
  }
  | { type: "close"; seq: number; path: string };

/** The worker's answer; `buffer` comes back for reuse. */
export type WriteReply = { seq: number; buffer?: ArrayBuffer; error?: string };

interface OpenFile {
  file: Deno.FsFile;
  unsynced: number;
  syncing?: Promise<void>;
  closed?: boolean;
}

const files = new Map<string, OpenFile>();

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.byteLength) offset += file.writeSync(bytes.subarray(offset));
}

function handle(msg: WriteRequest): WriteReply {
  if (msg.type === "close") {
    const open = files.get(msg.path);
    files.delete(msg.path);
    if (open) {
      open.closed = true;
      void flushAndClose(open);
    }
    return { seq: msg.seq };
  }
  let open = files.get(msg.path);
  if (!open) {
    open = { file: Deno.openSync(msg.path, { write: true, append: true }), unsynced: 0 };
    files.set(msg.path, open);
  }
  writeAll(open.file, new Uint8Array(msg.buffer, 0, msg.length));
  open.unsynced += msg.length;
  backgroundSync(open, msg.syncEvery);
  return { seq: msg.seq, buffer: msg.buffer };
}

/**
 * Flushes dirty pages in the background as the file grows, one fdatasync after another while
 * `syncEvery` bytes or more wait, so that the fsync that finishes the upload finds little left.
 */
function backgroundSync(open: OpenFile, syncEvery: number): void {
  if (open.unsynced < syncEvery || open.syncing !== undefined) return;
  open.unsynced = 0;
  open.syncing = open.file.syncData().then(
    () => {
      open.syncing = undefined;
      if (!open.closed) backgroundSync(open, syncEvery);
    },
    () => (open.syncing = undefined),
  );
}

/**
 * Flushes the rest of a file whose upload request has ended, then closes it, without holding up
 * the reply: the fsync that finishes the upload (its own handle, `BlobStore.syncUpload`) is what
 * makes the bytes durable and reports errors; this one only gets the flushing going early.
 */
async function flushAndClose(open: OpenFile): Promise<void> {
  await open.syncing?.catch(() => {});
  if (open.unsynced > 0) await open.file.syncData().catch(() => {});
  open.file.close();
}

self.onmessage = (event: MessageEvent<WriteRequest>) => {
  const msg = event.data;
  let reply: WriteReply;
  try {
    reply = handle(msg);
  } catch (error) {
    reply = {
      seq: msg.seq,
      buffer: msg.type === "write" ? msg.buffer : undefined,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  self.postMessage(reply, reply.buffer ? [reply.buffer] : []);
};
