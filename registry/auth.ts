/**
 * Authentication and authorization of registry requests, on the shared security module.
 *
 * Who a caller is: HTTP Basic against the server's credentials file (Mesos' JSON shape, the
 * same file every Tender server reads; the master's own when the registry runs inside it), an
 * htpasswd file of salted PBKDF2 hashes, or in-process users; a bearer token of the credentials
 * file, or one this registry issued at `/auth/token` (the Docker token flow: HMAC-signed, for
 * one principal and the scopes it asked for and the ACLs granted); static tokens
 * (`--auth-token-file`), which authenticate as the principal `token`.
 *
 * What a caller may do: the ACLs decide, `pull_images` and `push_images` per repository (prefix
 * match at `/`); deleting needs `push_images`. An authenticated caller the ACLs refuse gets 403
 * `DENIED` naming principal and repository, counted in `/metrics`; an anonymous one a 401
 * challenge, so that it logs in. Pure decisions; the HTTP wiring is in app.ts.
 */
import { createHmac } from "node:crypto";
import {
  type AclAction,
  Credentials,
  forbidden,
  safeEqual,
  ServerSecurity,
} from "../security/mod.ts";
import type { Action } from "./route.ts";

/** Who may do what. With no options at all the registry is open (the ACLs still apply). */
export interface AuthOptions {
  /**
   * The server's credentials and ACLs (and its throttle and counters): the master's when the
   * registry runs beside it, else one built from `--credentials`/`--acls`.
   */
  security?: ServerSecurity;
  /**
   * htpasswd file contents: `user:$pbkdf2-sha256$ITERATIONS$SALT$HASH` lines (`hashPassword`).
   * Unsalted `{SHA}` and plain-text entries are refused with a message saying how to migrate.
   */
  htpasswd?: string;
  /** Users and plaintext passwords (for embedding in-process; never read from a file). */
  users?: Record<string, string>;
  /** Static bearer tokens (also a Basic password); they authenticate as principal `token`. */
  tokens?: string[];
  /** Lets anonymous clients pull (if the ACLs allow an unauthenticated caller to). */
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

/** The principal static tokens authenticate as. */
export const STATIC_TOKEN_PRINCIPAL = "token";

/** One grant of an issued token, in the shape of Docker's token claims. */
export interface Grant {
  type: "repository" | "registry";
  name: string;
  actions: string[];
}

/** A caller, as far as authentication knows it. */
export interface Identity {
  principal: string | undefined;
  /** Whether the caller presented valid credentials or a token (not plain anonymous). */
  authenticated: boolean;
  /** The grants of a token this registry issued (undefined: credentials, no token scopes). */
  grants?: Grant[];
}

/** What an `Authorization` header proves: nothing, a caller (anonymous for an anonymous token). */
export type Check =
  | { kind: "none" }
  | { kind: "valid"; principal: string | undefined; grants?: Grant[] }
  | { kind: "invalid" }
  | { kind: "unverified" };

/** The outcome of checking a request; a refusal names its error code (`HTTP_STATUS` gives the status). */
export type AuthDecision =
  | { ok: true; identity: Identity }
  | { ok: false; code: "unauthorized"; challenge: string; message: string }
  | { ok: false; code: "forbidden"; message: string }
  | { ok: false; code: "too_many_requests"; retryAfterSeconds: number; message: string };

/** Why an htpasswd entry is refused (an old or unknown format), or undefined when it is usable. */
function entryProblem(entry: string): string | undefined {
  if (entry.startsWith("$pbkdf2-sha256$")) return undefined;
  if (entry.startsWith("{SHA}")) return "an unsalted SHA-1 hash ({SHA})";
  if (entry.startsWith("$")) return `a hash Tender does not verify (${entry.split("$")[1]})`;
  return "a password in plain text";
}

/** Reads an htpasswd file's text into credentials; throws naming users in an old format. */
function htpasswdCredentials(text: string): Credentials {
  const refused: string[] = [];
  const credentials: { principal: string; secret: string }[] = [];
  for (const line of text.split("\n")) {
    const at = line.indexOf(":");
    if (at <= 0 || line.startsWith("#")) continue;
    const user = line.slice(0, at), entry = line.slice(at + 1).trim();
    const problem = entryProblem(entry);
    if (problem) refused.push(`"${user}" (${problem})`);
    else credentials.push({ principal: user, secret: entry });
  }
  if (refused.length > 0) {
    throw new Error(
      `htpasswd entries for ${refused.join(", ")} are no longer accepted: only salted ` +
        `PBKDF2 hashes are. Replace each such line with the output of ` +
        `\`deno task registry hash-password USER\` (it reads the password from stdin).`,
    );
  }
  return new Credentials({ credentials, tokens: [] });
}

function base64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): string {
  return atob(text.replaceAll("-", "+").replaceAll("_", "/"));
}

/** The ACL action a registry action needs. */
export function aclActionOf(action: Action): AclAction {
  return action === "pull" ? "pull_images" : "push_images";
}

/** Parses a token scope, `repository:NAME:pull,push` or `registry:catalog:*`. */
export function parseScope(scope: string): Grant | undefined {
  const first = scope.indexOf(":"), last = scope.lastIndexOf(":");
  if (first < 0 || last <= first) return undefined;
  const type = scope.slice(0, first);
  if (type !== "repository" && type !== "registry") return undefined;
  const name = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1).split(",").filter((a) => a !== "");
  if (name === "" || name.length > 512 || actions.length === 0 || actions.length > 8) {
    return undefined;
  }
  return { type, name, actions };
}

/** Checks credentials and issues and verifies tokens; decides what a caller may do. */
export class Authenticator {
  readonly security: ServerSecurity;
  readonly #options: AuthOptions;
  readonly #sources: Credentials[] = [];
  readonly #secret: string;
  readonly #now: () => number;

  /** Throws, naming each user and how to migrate, when the htpasswd holds an old format. */
  constructor(options: AuthOptions, now: () => number) {
    this.#options = options;
    this.#now = now;
    this.#secret = options.secret ?? crypto.randomUUID();
    this.security = options.security ?? ServerSecurity.off();
    if (this.security.credentials) this.#sources.push(this.security.credentials);
    if (options.htpasswd !== undefined) this.#sources.push(htpasswdCredentials(options.htpasswd));
    const users = Object.entries(options.users ?? {});
    if (users.length > 0) {
      this.#sources.push(
        new Credentials({
          credentials: users.map(([principal, secret]) => ({ principal, secret })),
          tokens: [],
        }),
      );
    }
  }

  /** Whether callers must authenticate at all (some credentials are configured). */
  get authenticating(): boolean {
    return this.#sources.length > 0 || (this.#options.tokens ?? []).length > 0;
  }

  #staticToken(token: string): boolean {
    return (this.#options.tokens ?? []).some((t) => safeEqual(t, token));
  }

  /** What an `Authorization` header says about its caller (`dryRun`: no PBKDF2 run). */
  check(header: string | undefined, dryRun = false): Check {
    if (!header) return { kind: "none" };
    const space = header.indexOf(" ");
    const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase();
    const value = space < 0 ? "" : header.slice(space + 1).trim();
    if (scheme === "bearer") {
      const issued = this.#verifyToken(value);
      if (issued) return { kind: "valid", principal: issued.sub, grants: issued.access };
      if (this.#staticToken(value)) return { kind: "valid", principal: STATIC_TOKEN_PRINCIPAL };
    } else if (scheme === "basic") {
      const password = basicPassword(value);
      if (password !== undefined && this.#staticToken(password)) {
        return { kind: "valid", principal: STATIC_TOKEN_PRINCIPAL };
      }
    }
    for (const source of this.#sources) {
      const result = source.check(header, { dryRun });
      if (result.kind === "valid") return { kind: "valid", principal: result.principal };
      if (result.kind === "unverified") return { kind: "unverified" };
    }
    return { kind: "invalid" };
  }

  /** Issues a token for a principal (or an anonymous caller) and the scopes the ACLs grant. */
  issueToken(principal: string | undefined, scopes: string[] = []): {
    token: string;
    expiresIn: number;
    issuedAt: string;
  } {
    const expiresIn = this.#options.tokenTtlSeconds ?? 300;
    const access: Grant[] = [];
    for (const scope of scopes.slice(0, 32)) {
      const wanted = parseScope(scope);
      if (!wanted) continue;
      const actions = wanted.actions.filter((a) =>
        wanted.type === "registry"
          ? wanted.name === "catalog" && a === "*" && principal !== undefined
          : this.#may(principal, a === "pull" ? "pull" : a === "delete" ? "delete" : "push", {
            name: wanted.name,
            count: false,
          })
      );
      if (actions.length > 0) access.push({ ...wanted, actions });
    }
    const payload = base64url(
      JSON.stringify({ sub: principal ?? "", access, exp: this.#now() + expiresIn * 1000 }),
    );
    const mac = createHmac("sha256", this.#secret).update(payload).digest("base64url");
    return { token: `${payload}.${mac}`, expiresIn, issuedAt: new Date(this.#now()).toISOString() };
  }

  #verifyToken(token: string): { sub: string | undefined; access: Grant[] } | undefined {
    const [payload, mac, extra] = token.split(".");
    if (!payload || !mac || extra !== undefined) return undefined;
    const expected = createHmac("sha256", this.#secret).update(payload).digest("base64url");
    if (!safeEqual(mac, expected)) return undefined;
    try {
      const claims: unknown = JSON.parse(fromBase64url(payload));
      if (typeof claims !== "object" || claims === null) return undefined;
      const { sub, access, exp } = claims as Record<string, unknown>;
      if (typeof exp !== "number" || exp < this.#now() || !Array.isArray(access)) return undefined;
      return { sub: typeof sub === "string" && sub ? sub : undefined, access: access as Grant[] };
    } catch {
      return undefined;
    }
  }

  /** Whether `principal` may do `action` on a repository by the ACLs (and the anonymous rule). */
  #may(
    principal: string | undefined,
    action: Action,
    options: { name?: string; count: boolean },
  ): boolean {
    if (principal === undefined && this.authenticating) {
      if (!(action === "pull" && this.#options.anonymousPull)) return false;
    }
    const acl = aclActionOf(action);
    return options.count
      ? this.security.allows(acl, principal, options.name)
      : this.security.acls.allows(acl, principal, options.name);
  }

  /** Whether a caller may pull `name` (undefined: every repository); the catalog lists those. */
  canPull(identity: Identity, name: string | undefined): boolean {
    if (identity.grants) return name !== undefined && granted(identity.grants, "pull", name);
    return this.#may(identity.principal, "pull", { name, count: false });
  }

  /**
   * Decides whether a request may perform `action` (on repository `name`): `ping` needs an
   * authenticated caller when authentication is on; `admin` (GC) needs `push_images` on every
   * repository.
   */
  authorize(args: {
    header: string | undefined;
    action: Action | "ping" | "admin";
    name?: string;
    scope?: string;
    realm: string;
    client: string;
  }): AuthDecision {
    const { header, action, name } = args;
    const security = this.security;
    const locked = security.throttle.lockedFor(args.client);
    if (locked > 0 && header && this.check(header, true).kind !== "valid") {
      security.metrics.throttled++;
      return {
        ok: false,
        code: "too_many_requests",
        retryAfterSeconds: Math.ceil(locked / 1000),
        message: "Too many failed authentication attempts; try again later",
      };
    }
    const result = this.check(header);
    const unauthorized = (message: string, insufficient = false): AuthDecision => {
      security.metrics.unauthenticated++;
      return {
        ok: false,
        code: "unauthorized",
        challenge: this.challenge(args.realm, args.scope, insufficient),
        message,
      };
    };
    // Bad or expired credentials are refused even where anonymous access would do, so that
    // clients learn to fetch a new token instead of silently losing their rights.
    if (result.kind !== "valid" && result.kind !== "none") {
      security.throttle.failed(args.client);
      return unauthorized("Invalid credentials");
    }
    const identity: Identity = result.kind === "valid"
      ? { principal: result.principal, authenticated: true, grants: result.grants }
      : { principal: undefined, authenticated: false };
    if (action === "ping") {
      return identity.authenticated || !this.authenticating
        ? { ok: true, identity }
        : unauthorized("Authentication required");
    }
    if (!identity.authenticated && this.authenticating) {
      const anonymousOk = action === "pull" && this.#options.anonymousPull &&
        security.acls.allows("pull_images", undefined, name);
      if (!anonymousOk) return unauthorized("Authentication required");
    }
    if (action === "admin") {
      if (security.allows("push_images", identity.principal)) return { ok: true, identity };
      return {
        ok: false,
        code: "forbidden",
        message: forbidden("push_images", identity.principal).message,
      };
    }
    if (action === "catalog") {
      const ok = identity.grants
        ? identity.grants.some((g) => g.type === "registry" && g.name === "catalog")
        : true;
      return ok ? { ok: true, identity } : unauthorized("Token lacks the catalog scope", true);
    }
    const acl = aclActionOf(action);
    if (!security.allows(acl, identity.principal, name)) {
      if (!identity.authenticated && this.authenticating) {
        return unauthorized("Authentication required");
      }
      return {
        ok: false,
        code: "forbidden",
        message: forbidden(acl, identity.principal, name).message,
      };
    }
    if (identity.grants && !granted(identity.grants, action, name ?? "")) {
      return unauthorized(`Token does not grant ${action} on "${name}"`, true);
    }
    return { ok: true, identity };
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

function granted(grants: Grant[], action: Action, name: string): boolean {
  const wanted = action === "pull" ? "pull" : action === "delete" ? "delete" : "push";
  return grants.some((g) =>
    g.type === "repository" && g.name === name &&
    (g.actions.includes(wanted) || g.actions.includes("*"))
  );
}

function basicPassword(value: string): string | undefined {
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** The token scope a route would ask for, e.g. `repository:web:pull,push`. */
export function scopeOf(
  name: string | undefined,
  action: Action | "ping" | "admin",
): string | undefined {
  if (action === "catalog") return "registry:catalog:*";
  if (name === undefined || action === "ping" || action === "admin") return undefined;
  return `repository:${name}:${action === "pull" ? "pull" : `pull,${action}`}`;
}
