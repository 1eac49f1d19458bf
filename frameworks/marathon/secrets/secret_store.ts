/**
 * Marathon's secret store: named values (`/prod/db`) kept in Marathon's state store encrypted
 * with AES-256-GCM (WebCrypto) under the key of `--secrets-key-file`. Each record is
 * `{iv, data, updatedAt}`, the path bound in as additional data, so a record copied to another
 * path does not decrypt. Values leave it only through `resolve()`, for the task launches of apps
 * that name them; the API lists names.
 */
import { z } from "zod";
import { base64Of } from "../../../protocol/mod.ts";
import { type Clock, TenderError } from "../../../base/mod.ts";
import type { StateStore } from "../../../store/mod.ts";
import { keys } from "../store/keys.ts";

export { secretPath } from "./secret_path.ts";

/** The most bytes (of UTF-8) a secret's value may hold. */
export const MAX_SECRET_VALUE = 32 * 1024;

const SecretRecordSchema = z.object({
  iv: z.string(),
  data: z.string(),
  updatedAt: z.string(),
});

/** Reads a key file: 32 bytes as 64 hex digits or base64 (a trailing newline is fine). */
export async function loadSecretsKey(file: string): Promise<CryptoKey> {
  let text: string;
  try {
    text = (await Deno.readTextFile(file)).trim();
  } catch (e) {
    throw new Error(`cannot read --secrets-key-file ${file}: ${(e as Error).message}`);
  }
  return await importSecretsKey(text, file);
}

/** The AES-256-GCM key written as 64 hex digits or as base64 of 32 bytes. */
export async function importSecretsKey(text: string, source = "key"): Promise<CryptoKey> {
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    bytes = Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
  } else {
    try {
      const binary = atob(text);
      if (binary.length === 32) bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    } catch {
      bytes = undefined;
    }
  }
  if (!bytes) {
    // Never quote the file: it is a key.
    throw new Error(
      `${source}: a secrets key is 32 bytes written as 64 hex digits or base64 ` +
        `(make one with: openssl rand -hex 32)`,
    );
  }
  return await crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Secrets by path, encrypted at rest. One per Marathon store. */
export class SecretStore {
  readonly #kv: StateStore;
  readonly #key: CryptoKey;
  readonly #clock: Clock;

  constructor(kv: StateStore, key: CryptoKey, clock: Clock) {
    this.#kv = kv;
    this.#key = key;
    this.#clock = clock;
  }

  /** Stores `value` at `path` (canonical); answers whether it was new. */
  async put(path: string, value: string): Promise<{ created: boolean }> {
    const plain = new TextEncoder().encode(value);
    if (plain.length > MAX_SECRET_VALUE) {
      throw new TenderError(
        "unprocessable",
        `Secret '${path}' is too large`,
        [{ path: "/value", errors: [`must be at most ${MAX_SECRET_VALUE} bytes`] }],
      );
    }
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(path) },
      this.#key,
      plain,
    );
    const existing = await this.#kv.get(keys.secret(path));
    await this.#kv.set(keys.secret(path), {
      iv: base64Of(iv),
      data: base64Of(new Uint8Array(sealed)),
      updatedAt: new Date(this.#clock.now()).toISOString(),
    });
    return { created: existing.value === null };
  }

  /** Every secret's path and when it last changed, in path order. */
  async list(): Promise<{ path: string; updatedAt: string }[]> {
    const out: { path: string; updatedAt: string }[] = [];
    for await (const entry of this.#kv.list(keys.secrets())) {
      const path = entry.key[entry.key.length - 1];
      const record = SecretRecordSchema.safeParse(entry.value);
      if (typeof path === "string" && record.success) {
        out.push({ path, updatedAt: record.data.updatedAt });
      }
    }
    return out;
  }

  /** Whether a secret exists at `path`. */
  async has(path: string): Promise<boolean> {
    return (await this.#kv.get(keys.secret(path))).value !== null;
  }

  /** Removes the secret; false when there was none. */
  async delete(path: string): Promise<boolean> {
    if (!(await this.has(path))) return false;
    await this.#kv.delete(keys.secret(path));
    return true;
  }

  /**
   * The values of `paths`, decrypted, for a launch. Missing ones are left out (the caller names
   * them); a record that does not decrypt (another key) throws, naming only its path.
   */
  async resolve(paths: Iterable<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const path of new Set(paths)) {
      const entry = await this.#kv.get(keys.secret(path));
      if (entry.value === null) continue;
      const record = SecretRecordSchema.parse(entry.value);
      let plain: ArrayBuffer;
      try {
        plain = await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: fromBase64(record.iv),
            additionalData: new TextEncoder().encode(path),
          },
          this.#key,
          fromBase64(record.data),
        );
      } catch {
        throw new Error(
          `Secret '${path}' cannot be decrypted with this Marathon's --secrets-key-file ` +
            `(stored under another key?)`,
        );
      }
      out.set(path, new TextDecoder().decode(plain));
    }
    return out;
  }
}
