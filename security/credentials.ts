/**
 * The credentials file, in Mesos' JSON shape, and the check of a request's `Authorization`:
 *
 * ```json
 * {
 *   "credentials": [
 *     { "principal": "marathon", "secret": "clear text" },
 *     { "principal": "ops", "secret": "$pbkdf2-sha256$600000$SALT$HASH" }
 *   ],
 *   "tokens": [
 *     { "principal": "ci", "token_sha256": "HEX" }
 *   ]
 * }
 * ```
 *
 * A secret beginning `$pbkdf2-sha256$` is a salted hash (`tender auth hash`); anything else is
 * the secret itself, as Mesos reads it. Bearer tokens are random strings held as their SHA-256
 * (`tender auth token`), or in clear under `token`. A verified Basic pair is remembered (as a
 * digest) so a client pays PBKDF2 once, not on every request; a whole `Authorization` value once
 * accepted is remembered too (a keyed digest of it), so later requests carrying it cost one
 * SHA-256 in plain JavaScript (`KeyedDigest`, a few µs; `node:crypto` took 5–15) instead of
 * decoding and checking it again.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { KeyedDigest } from "./keyed_digest.ts";
import { isPasswordHash, safeEqual, verifyPassword } from "./password_hash.ts";

const PrincipalSchema = z.string().min(1).max(256).refine((p) => !p.includes(":"), {
  message: "may not contain ':' (HTTP Basic separates principal and secret with it)",
});

/** The file's shape. Unknown fields are refused, so a misspelt key is not silently ignored. */
export const CredentialsFileSchema = z.object({
  credentials: z.array(
    z.object({ principal: PrincipalSchema, secret: z.string().min(1).max(4096) }).strict(),
  ).default([]),
  tokens: z.array(
    z.object({
      principal: PrincipalSchema,
      token: z.string().min(16).max(4096).optional(),
      token_sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits")
        .optional(),
    }).strict().refine((t) => (t.token === undefined) !== (t.token_sha256 === undefined), {
      message: "give exactly one of 'token' and 'token_sha256'",
    }),
  ).default([]),
}).strict();
export type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

/** Parses a credentials file's text; throws an Error naming the file, the field and the problem. */
export function parseCredentials(text: string, source = "credentials"): Credentials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${jsonErrorWithoutText(e)})`);
  }
  const parsed = CredentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: '${issue.path.join(".") || "(file)"}': ${issue.message}`);
  }
  return new Credentials(parsed.data);
}

/**
 * A JSON syntax error without the text around it: V8 quotes a piece of the input (`Unexpected
 * token 'h', ..."secret":hunter2..." is not valid JSON`), which in a credentials file is a secret.
 */
function jsonErrorWithoutText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const at = /position \d+(?: \(line \d+ column \d+\))?/.exec(message)?.[0];
  const token = /^Unexpected (?:token|end of JSON input|non-whitespace character)/.exec(message)
    ?.[0];
  return [token ?? "invalid JSON", at ? `at ${at}` : undefined].filter(Boolean).join(" ");
}

/** Reads and parses a credentials file. */
export async function loadCredentials(path: string): Promise<Credentials> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read credentials file ${path}: ${(e as Error).message}`);
  }
  return parseCredentials(text, path);
}

/** What `check` makes of an `Authorization` header. */
export type CredentialCheck =
  | { kind: "none" }
  | { kind: "valid"; principal: string; scheme: "basic" | "bearer" }
  | { kind: "invalid"; principal?: string; scheme: "basic" | "bearer" | "unknown" }
  | { kind: "unverified"; principal: string };

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The principals and secrets a server accepts. */
export class Credentials {
  readonly #secrets = new Map<string, string>();
  readonly #tokens = new Map<string, string>();
  /** Digests of principal/secret pairs already verified against a hash. */
  readonly #verified = new Set<string>();
  /** Keyed digests of `Authorization` values already accepted, and what they proved. */
  readonly #accepted = new Map<string, { principal: string; scheme: "basic" | "bearer" }>();
  /** Digests under this process's key (a header's digest is no use anywhere else). */
  readonly #digest = new KeyedDigest(crypto.getRandomValues(new Uint8Array(32)));

  constructor(file: CredentialsFile) {
    for (const c of file.credentials) this.#secrets.set(c.principal, c.secret);
    for (const t of file.tokens) this.#tokens.set(t.token_sha256 ?? sha256(t.token!), t.principal);
  }

  /** How many principals and tokens the file holds. */
  get size(): number {
    return this.#secrets.size + this.#tokens.size;
  }

  /** Whether `secret` is `principal`'s. */
  verify(principal: string, secret: string): boolean {
    const stored = this.#secrets.get(principal);
    if (stored === undefined) return false;
    if (!isPasswordHash(stored)) return safeEqual(stored, secret);
    const pair = sha256(`${principal}\u0000${stored}\u0000${secret}`);
    if (this.#verified.has(pair)) return true;
    if (!verifyPassword(stored, secret)) return false;
    if (this.#verified.size >= 10_000) this.#verified.clear();
    this.#verified.add(pair);
    return true;
  }

  /** Whether verifying this pair would be cheap (already verified once): the throttle lets it by. */
  known(principal: string, secret: string): boolean {
    const stored = this.#secrets.get(principal);
    if (stored === undefined) return false;
    return !isPasswordHash(stored) ||
      this.#verified.has(sha256(`${principal}\u0000${stored}\u0000${secret}`));
  }

  /** The principal a bearer token stands for, if it is one of ours. */
  tokenPrincipal(token: string): string | undefined {
    return this.#tokens.get(sha256(token));
  }

  /**
   * Checks an `Authorization` header: absent (`none`), a valid Basic pair or token, or invalid.
   * With `dryRun`, a Basic pair that would need a PBKDF2 run is `unverified` instead of checked.
   */
  check(header: string | undefined | null, options: { dryRun?: boolean } = {}): CredentialCheck {
    if (!header) return { kind: "none" };
    const digest = this.#digest.of(header);
    const accepted = this.#accepted.get(digest);
    if (accepted) return { kind: "valid", ...accepted };
    const result = this.#checkAnew(header, options);
    if (result.kind === "valid") {
      if (this.#accepted.size >= 10_000) this.#accepted.clear();
      this.#accepted.set(digest, { principal: result.principal, scheme: result.scheme });
    }
    return result;
  }

  #checkAnew(header: string, options: { dryRun?: boolean }): CredentialCheck {
    const space = header.indexOf(" ");
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? "" : header.slice(space + 1).trim();
    if (scheme === "bearer") {
      const principal = this.tokenPrincipal(value);
      return principal === undefined
        ? { kind: "invalid", scheme: "bearer" }
        : { kind: "valid", principal, scheme: "bearer" };
    }
    if (scheme !== "basic") return { kind: "invalid", scheme: "unknown" };
    const pair = decodeBasic(value);
    if (!pair) return { kind: "invalid", scheme: "basic" };
    if (options.dryRun && !this.known(pair.principal, pair.secret)) {
      return { kind: "unverified", principal: pair.principal };
    }
    return this.verify(pair.principal, pair.secret)
      ? { kind: "valid", principal: pair.principal, scheme: "basic" }
      : { kind: "invalid", principal: pair.principal, scheme: "basic" };
  }
}

const utf8 = new TextDecoder();

/** `principal:secret` out of a Basic credential, or undefined when it is not one. */
export function decodeBasic(value: string): { principal: string; secret: string } | undefined {
  let decoded: string;
  try {
    decoded = utf8.decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  return { principal: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** A Basic `Authorization` header value for a principal and secret. */
export function basicHeader(principal: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${principal}:${secret}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** A new random bearer token and the file entry that accepts it. */
export function newToken(principal: string): {
  token: string;
  entry: { principal: string; token_sha256: string };
} {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = `tdr_${
    btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
      /=+$/,
      "",
    )
  }`;
  return { token, entry: { principal, token_sha256: sha256(token) } };
}
