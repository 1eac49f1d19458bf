/**
 * Tender's tuple keys as etcd keys: parts joined by `/` under the store's prefix, a string part
 * percent-encoded where it holds `/`, `%` or starts with `#`, a number as `#` and 16 digits, so
 * etcd's byte order keeps a prefix's keys together and numbers in numeric order.
 */
import type { StoreKey, StoreKeyPart } from "../state_store.ts";
import { prefixEnd } from "./wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The etcd key of a tuple key under `prefix` (which ends in `/`). */
export function encodeKey(prefix: string, key: StoreKey): Uint8Array {
  return encoder.encode(prefix + key.map(encodePart).join("/"));
}

/** The etcd range `[start, end)` holding every key that begins with `key`'s parts. */
export function prefixRange(prefix: string, key: StoreKey): { start: Uint8Array; end: Uint8Array } {
  const start = encoder.encode(prefix + key.map((p) => `${encodePart(p)}/`).join(""));
  return { start, end: prefixEnd(start) };
}

/** The tuple key of an etcd key under `prefix`. */
export function decodeKey(prefix: string, raw: Uint8Array): StoreKey {
  const text = decoder.decode(raw);
  if (!text.startsWith(prefix)) throw new Error(`etcd key "${text}" is not under "${prefix}"`);
  return text.slice(prefix.length).split("/").map(decodePart);
}

function encodePart(part: StoreKeyPart): string {
  if (typeof part === "number") {
    if (!Number.isSafeInteger(part) || part < 0) {
      throw new Error(`Key part ${part}: only non-negative integers are stored as numbers`);
    }
    return `#${String(part).padStart(16, "0")}`;
  }
  return part.replace(/[%/]|^#/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodePart(text: string): StoreKeyPart {
  if (text.startsWith("#")) return Number(text.slice(1));
  return text.replace(/%([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}
