/**
 * Buffered reads off a TCP connection for the HTTP/1.1 upstream client: a response head up
 * to its blank line, a CRLF line, an exact byte count, or whatever is available.
 */

const CRLFCRLF = [13, 10, 13, 10];
const MAX_HEAD = 64 * 1024;

/** Reads an HTTP/1.1 message off `conn` through one growing buffer. */
export class ConnReader {
  readonly conn: Deno.Conn;
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Bytes buffered but not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Reads more bytes into the buffer; false on EOF. */
  async #fill(): Promise<boolean> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      const live = this.#end - this.#start;
      const next = live * 2 > this.#buf.length ? new Uint8Array(this.#buf.length * 2) : this.#buf;
      next.copyWithin(0, this.#start, this.#end);
      if (next !== this.#buf) next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  #find(pattern: readonly number[], from: number): number {
    const buf = this.#buf;
    outer: for (let i = from; i + pattern.length <= this.#end; i++) {
      for (let j = 0; j < pattern.length; j++) if (buf[i + j] !== pattern[j]) continue outer;
      return i;
    }
    return -1;
  }

  #take(n: number): Uint8Array<ArrayBuffer> {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** The head up to (without) its blank line, as latin1 text; null on EOF before any byte. */
  async readHead(): Promise<string | null> {
    for (;;) {
      const at = this.#find(CRLFCRLF, this.#start);
      if (at >= 0) {
        const text = latin1(this.#buf.subarray(this.#start, at));
        this.#start = at + 4;
        return text;
      }
      if (this.buffered > MAX_HEAD) throw new Error("response head too large");
      if (!(await this.#fill())) {
        if (this.buffered === 0) return null;
        throw new Error("connection closed inside the response head");
      }
    }
  }

  /** One line without its CRLF. */
  async readLine(): Promise<string> {
    for (;;) {
      const at = this.#find([13, 10], this.#start);
      if (at >= 0) {
        const text = latin1(this.#buf.subarray(this.#start, at));
        this.#start = at + 2;
        return text;
      }
      if (!(await this.#fill())) throw new Error("connection closed inside a chunk line");
    }
  }

  /** Up to `max` bytes: buffered ones first, else one read; null on EOF. */
  async readSome(max: number): Promise<Uint8Array<ArrayBuffer> | null> {
    if (this.buffered === 0 && !(await this.#fill())) return null;
    return this.#take(Math.min(max, this.buffered));
  }

  /** Exactly `n` bytes, or throws on EOF. */
  async readExact(n: number): Promise<Uint8Array<ArrayBuffer>> {
    if (this.buffered >= n) return this.#take(n);
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const part = await this.readSome(n - off);
      if (part === null) throw new Error("connection closed inside the response body");
      out.set(part, off);
      off += part.length;
    }
    return out;
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}
