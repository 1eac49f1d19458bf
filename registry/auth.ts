/**
 * Optional authentication: Basic (htpasswd entries hashed with salted PBKDF2-SHA256, see
 * `hashPassword`; or static tokens as the password) and Bearer tokens issued by the registry's own token endpoint (`/auth/token`, the
 * Docker token flow) or configured statically. Anonymous pull can stay open while pushing needs
 * credentials. Pure decisions; the HTTP wiring is in app.ts.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Action } from "./route.ts";

/** Who may do what. With no options at all the registry is open. */
export interface AuthOptions {
  /**
   * htpasswd file contents: `user:$pbkdf2-sha256$ITERATIONS$SALT$HASH` lines (`hashPassword`).
   * Unsalted `{SHA}` and plain-text entries are refused with a message saying how to migrate.
   */
  htpasswd?: string;
  /** Users and plaintext passwords (for embedding in-process; never read from a file). */
  users?: Record<string, string>;
  /** Static bearer tokens with full access; also accepted as a Basic password. */
  tokens?: string[];
  /** Lets anonymous clients pull (GET/HEAD blobs, manifests, tags, referrers). */
  anonymousPull?: boolean;
  /** Challenge scheme: `bearer` (token flow, default) or `basic`. */
  scheme?: "basic" | "bearer";
  /** HMAC key for issued tokens; random per process when absent. */
  secret?: string;
  /** Lifetime of issued tokens in seconds (default 300). */
  tokenTtlSeconds?: number;
}

/** The service name in challenges and tokens. */
export const SERVICE = "tender-registry";

/** A caller, as far as authentication knows it. */
export interface Identity {
  user: string | undefined;
  /** Actions granted; `*` means everything. */
  access: ReadonlySet<Action | "*">;
  /** Whether the caller presented valid credentials or a token (not plain anonymous). */
  authenticated: boolean;
}

/** The outcome of checking a request. */
export type AuthDecision = { ok: true; identity: Identity } | {
  ok: false;
  challenge: string;
  message: string;
};

/** PBKDF2 rounds for new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
export const PBKDF2_ITERATIONS = 600_000;
const PBKDF2_PREFIX = "$pbkdf2-sha256$";

/** An htpasswd hash of `password`: `$pbkdf2-sha256$ITERATIONS$SALT$HASH`, base64 parts. */
export function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): string {
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  return `${PBKDF2_PREFIX}${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

function checkHash(entry: string, password: string): boolean {
  const [iterations, salt, hash] = entry.slice(PBKDF2_PREFIX.length).split("$");
  const rounds = Number(iterations);
  if (!salt || !hash || !Number.isInteger(rounds) || rounds < 1 || rounds > 10_000_000) {
    return false;
  }
  const expected = Uint8Array.from(atob(hash), (c) => c.charCodeAt(0));
  const salted = Uint8Array.from(atob(salt), (c) => c.charCodeAt(0));
  const got = pbkdf2Sync(password, salted, rounds, expected.byteLength, "sha256");
  return expected.byteLength === got.byteLength && timingSafeEqual(expected, got);
}

/** Why an htpasswd entry is refused (an old or unknown format), or undefined when it is usable. */
function entryProblem(entry: string): string | undefined {
  if (entry.startsWith(PBKDF2_PREFIX)) return undefined;
  if (entry.startsWith("{SHA}")) return "an unsalted SHA-1 hash ({SHA})";
  if (entry.startsWith("$")) return `a hash Tender does not verify (${entry.split("$")[1]})`;
  return "a password in plain text";
}

function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

function base64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): string {
  return atob(text.replaceAll("-", "+").replaceAll("_", "/"));
}

/** Checks credentials and issues and verifies tokens. */
export class Authenticator {
  readonly #options: AuthOptions;
  readonly #entries = new Map<string, string>();
  readonly #secret: string;
  readonly #plain = new Map<string, string>();
  readonly #now: () => number;
  /** Digests of user:password pairs already verified, so PBKDF2 runs once per pair. */
  readonly #verified = new Set<string>();

  /** Throws, naming each user and how to migrate, when the htpasswd holds an old format. */
  constructor(options: AuthOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
    this.#secret = options.secret ?? crypto.randomUUID();
    const refused: string[] = [];
    for (const line of (options.htpasswd ?? "").split("\n")) {
      const at = line.indexOf(":");
      if (at > 0 && !line.startsWith("#")) {
        const user = line.slice(0, at), entry = line.slice(at + 1).trim();
        const problem = entryProblem(entry);
        if (problem) refused.push(`"${user}" (${problem})`);
        else this.#entries.set(user, entry);
      }
    }
    if (refused.length > 0) {
      throw new Error(
        `htpasswd entries for ${refused.join(", ")} are no longer accepted: only salted ` +
          `PBKDF2 hashes are. Replace each such line with the output of ` +
          `\`deno task registry hash-password USER\` (it reads the password from stdin).`,
      );
    }
    for (const [user, password] of Object.entries(options.users ?? {})) {
      this.#plain.set(user, password);
    }
  }

  /** Whether a user/password pair is valid. */
  checkPassword(user: string, password: string): boolean {
    if ((this.#options.tokens ?? []).some((t) => safeEqual(t, password))) return true;
    const plain = this.#plain.get(user);
    if (plain !== undefined) return safeEqual(plain, password);
    const entry = this.#entries.get(user);
    if (entry === undefined) return false;
    const pair = createHash("sha256").update(`${entry}\u0000${password}`).digest("base64");
    if (this.#verified.has(pair)) return true;
    if (!checkHash(entry, password)) return false;
    if (this.#verified.size >= 1000) this.#verified.clear();
    this.#verified.add(pair);
    return true;
  }

  /** Parses `Authorization: Basic ...` into checked credentials; undefined when absent or bad. */
  basicUser(header: string | undefined): string | undefined {
    if (!header?.toLowerCase().startsWith("basic ")) return undefined;
    let decoded: string;
    try {
      decoded = atob(header.slice(6).trim());
    } catch {
      return undefined;
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    return this.checkPassword(user, decoded.slice(colon + 1)) ? user : undefined;
  }

  /** Issues a token for a user (or an anonymous caller). */
  issueToken(user: string | undefined): { token: string; expiresIn: number; issuedAt: string } {
    const expiresIn = this.#options.tokenTtlSeconds ?? 300;
    const access = user === undefined ? (this.#options.anonymousPull ? ["pull"] : []) : ["*"];
    const payload = base64url(
      JSON.stringify({ sub: user ?? "", access, exp: this.#now() + expiresIn * 1000 }),
    );
    const mac = createHmac("sha256", this.#secret).update(payload).digest("base64url");
    return { token: `${payload}.${mac}`, expiresIn, issuedAt: new Date(this.#now()).toISOString() };
  }

  #verifyToken(token: string): Identity | undefined {
    if ((this.#options.tokens ?? []).some((t) => safeEqual(t, token))) {
      return { user: undefined, access: new Set(["*"]), authenticated: true };
    }
    const [payload, mac] = token.split(".");
    if (!payload || !mac) return undefined;
    const expected = createHmac("sha256", this.#secret).update(payload).digest("base64url");
    if (!safeEqual(mac, expected)) return undefined;
    try {
      const claims: unknown = JSON.parse(fromBase64url(payload));
      if (typeof claims !== "object" || claims === null) return undefined;
      const { sub, access, exp } = claims as Record<string, unknown>;
      if (typeof exp !== "number" || exp < this.#now() || !Array.isArray(access)) return undefined;
      const granted = new Set<Action | "*">();
      for (const a of access) if (a === "*" || a === "pull") granted.add(a);
      return {
        user: typeof sub === "string" && sub ? sub : undefined,
        access: granted,
        authenticated: true,
      };
    } catch {
      return undefined;
    }
  }

  /** Decides whether a request with this Authorization header may perform `action`. */
  authorize(args: {
    header: string | undefined;
    action: Action | "ping";
    scope?: string;
    realm: string;
  }): AuthDecision {
    const { header, action } = args;
    let identity: Identity | undefined;
    if (header?.toLowerCase().startsWith("bearer ")) {
      identity = this.#verifyToken(header.slice(7).trim());
    } else if (header) {
      const user = this.basicUser(header);
      identity = user === undefined
        ? undefined
        : { user, access: new Set(["*"]), authenticated: true };
    }
    const anonymous: Identity = {
      user: undefined,
      access: new Set(this.#options.anonymousPull ? ["pull"] : []),
      authenticated: false,
    };
    // Bad or expired credentials are refused even where anonymous access would do, so that
    // clients learn to fetch a new token instead of silently losing their rights.
    if (header && !identity) {
      return {
        ok: false,
        challenge: this.challenge(args.realm, args.scope, false),
        message: "Invalid credentials",
      };
    }
    const who = identity ?? anonymous;
    const allowed = action === "ping"
      ? who.authenticated
      : who.access.has("*") || who.access.has(action);
    if (allowed) return { ok: true, identity: who };
    return {
      ok: false,
      challenge: this.challenge(args.realm, args.scope, identity !== undefined),
      message: header && !identity ? "Invalid credentials" : "Authentication required",
    };
  }

  /** The WWW-Authenticate header value. */
  challenge(realm: string, scope: string | undefined, insufficient: boolean): string {
    if ((this.#options.scheme ?? "bearer") === "basic") return `Basic realm="${SERVICE}"`;
    const parts = [`realm="${realm}"`, `service="${SERVICE}"`];
    if (scope) parts.push(`scope="${scope}"`);
    if (insufficient) parts.push(`error="insufficient_scope"`);
    return `Bearer ${parts.join(",")}`;
  }
}

/** The token scope a route would ask for, e.g. `repository:web:pull,push`. */
export function scopeOf(name: string | undefined, action: Action | "ping"): string | undefined {
  if (action === "catalog") return "registry:catalog:*";
  if (name === undefined || action === "ping") return undefined;
  return `repository:${name}:${action === "pull" ? "pull" : `pull,${action}`}`;
}
