/**
 * Optional authentication: Basic (htpasswd `{SHA}` or plain entries, or static tokens as the
 * password) and Bearer tokens issued by the registry's own token endpoint (`/auth/token`, the
 * Docker token flow) or configured statically. Anonymous pull can stay open while pushing needs
 * credentials. Pure decisions; the HTTP wiring is in app.ts.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Action } from "./route.ts";

/** Who may do what. With no options at all the registry is open. */
export interface AuthOptions {
  /** htpasswd file contents: `user:{SHA}base64` or `user:password` lines. */
  htpasswd?: string;
  /** Users and plaintext passwords (for embedding). */
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

function sha1Base64(text: string): string {
  return createHash("sha1").update(text).digest("base64");
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
  readonly #now: () => number;

  constructor(options: AuthOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
    this.#secret = options.secret ?? crypto.randomUUID();
    for (const line of (options.htpasswd ?? "").split("\n")) {
      const at = line.indexOf(":");
      if (at > 0 && !line.startsWith("#")) {
        this.#entries.set(line.slice(0, at), line.slice(at + 1).trim());
      }
    }
    for (const [user, password] of Object.entries(options.users ?? {})) {
      this.#entries.set(user, password);
    }
  }

  /** Whether a user/password pair is valid. */
  checkPassword(user: string, password: string): boolean {
    if ((this.#options.tokens ?? []).some((t) => safeEqual(t, password))) return true;
    const entry = this.#entries.get(user);
    if (entry === undefined) return false;
    if (entry.startsWith("{SHA}")) return safeEqual(entry.slice(5), sha1Base64(password));
    if (entry.startsWith("$")) return false; // bcrypt/apr1 hashes are not supported
    return safeEqual(entry, password);
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
