/**
 * Salted password hashes, so a credentials file need not hold secrets in clear text:
 * `$pbkdf2-sha256$ITERATIONS$SALT$HASH` (base64 parts). Used by the credentials file of every
 * server and by the registry's htpasswd entries.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

/** PBKDF2 rounds for new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
export const PBKDF2_ITERATIONS = 600_000;
/** How every hash this module writes begins. */
export const PBKDF2_PREFIX = "$pbkdf2-sha256$";

/** A salted hash of `password`: `$pbkdf2-sha256$ITERATIONS$SALT$HASH`. */
export function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): string {
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  return `${PBKDF2_PREFIX}${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** Whether `text` is a hash this module can verify (rather than a secret in clear). */
export function isPasswordHash(text: string): boolean {
  return text.startsWith(PBKDF2_PREFIX);
}

/** Whether `password` hashes to `hash`; false for a malformed hash. Constant time per length. */
export function verifyPassword(hash: string, password: string): boolean {
  if (!isPasswordHash(hash)) return false;
  const [iterations, salt, digest] = hash.slice(PBKDF2_PREFIX.length).split("$");
  const rounds = Number(iterations);
  if (!salt || !digest || !Number.isInteger(rounds) || rounds < 1 || rounds > 10_000_000) {
    return false;
  }
  let expected: Uint8Array, salted: Uint8Array;
  try {
    expected = Uint8Array.from(atob(digest), (c) => c.charCodeAt(0));
    salted = Uint8Array.from(atob(salt), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  const got = pbkdf2Sync(password, salted, rounds, expected.byteLength, "sha256");
  return expected.byteLength === got.byteLength && timingSafeEqual(expected, got);
}

/** Compares two strings in time that depends only on their lengths. */
export function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}
