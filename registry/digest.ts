/** Streaming sha256: WebCrypto's digest is one-shot, so this wraps `node:crypto`'s incremental hash. */
import { createHash, type Hash } from "node:crypto";

/** An incremental sha256 over the bytes fed to it, in order. */
export class Sha256 {
  #hash: Hash = createHash("sha256");
  #length = 0;

  /** Feeds more bytes. */
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
    this.#length += bytes.byteLength;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.#length;
  }

  /** The digest (`sha256:<hex>`) of everything fed so far; the hasher stays usable. */
  digest(): string {
    return `sha256:${this.#hash.copy().digest("hex")}`;
  }
}

/** The sha256 digest of a byte array. */
export function sha256Of(bytes: Uint8Array): string {
  const h = new Sha256();
  h.update(bytes);
  return h.digest();
}

/** The sha256 digest of a whole file, read as a stream. */
export async function sha256OfFile(path: string): Promise<{ digest: string; size: number }> {
  const h = new Sha256();
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) h.update(chunk); // the stream closes the file
  return { digest: h.digest(), size: h.length };
}
