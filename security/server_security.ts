/**
 * What a server knows to authenticate and authorize its callers, and the hono middleware that
 * does it. Every Tender server builds one `ServerSecurity` from its flags (`security/flags.ts`)
 * and puts `authenticate()` in front of its routes; handlers ask `authorize()` for an action.
 *
 * With no credentials file, authentication is off: requests carry no principal and headers are
 * not looked at. With one, a request that carries credentials must carry valid ones (401, even
 * where anonymous access would do, so that a client with a wrong secret learns it), and a
 * request to a route the server's switches protect must carry them.
 */
import type { Context, MiddlewareHandler } from "hono";
import { clientAddress, TenderError } from "../base/mod.ts";
import { type AclAction, Acls } from "./acls.ts";
import type { Credentials } from "./credentials.ts";
import { FailureThrottle } from "./failure_throttle.ts";
import { SecurityMetrics } from "./security_metrics.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The authenticated principal of the request; absent when it carried no credentials. */
    principal: string | undefined;
  }
}

/** A server's authentication and authorization. */
export class ServerSecurity {
  readonly credentials: Credentials | undefined;
  readonly acls: Acls;
  readonly metrics = new SecurityMetrics();
  readonly throttle: FailureThrottle;

  constructor(
    options: { credentials?: Credentials; acls?: Acls; throttle?: FailureThrottle } = {},
  ) {
    this.credentials = options.credentials;
    this.acls = options.acls ?? Acls.open();
    this.throttle = options.throttle ?? new FailureThrottle();
  }

  /** Security that lets everyone do everything (what `deno task dev` runs with). */
  static off(): ServerSecurity {
    return new ServerSecurity();
  }

  /** Whether a credentials file was given. */
  get authenticating(): boolean {
    return this.credentials !== undefined;
  }

  /** Whether `principal` may do `action` to `object` (counts a denial; does not throw). */
  allows(action: AclAction, principal: string | undefined, object?: string): boolean {
    const ok = this.acls.allows(action, principal, object);
    if (!ok) this.metrics.denied(action);
    return ok;
  }

  /** Throws a 403 naming the principal, the action and the object unless it is allowed. */
  authorize(action: AclAction, principal: string | undefined, object?: string): void {
    if (this.allows(action, principal, object)) return;
    throw forbidden(action, principal, object);
  }
}

/** The 403 for a refused action. */
export function forbidden(
  action: AclAction,
  principal: string | undefined,
  object?: string,
): TenderError {
  const who = principal === undefined ? "An unauthenticated caller" : `Principal "${principal}"`;
  const what = object === undefined ? "" : ` on "${object}"`;
  return new TenderError("forbidden", `${who} is not authorized to ${action}${what}`);
}

/** Options of `authenticate`. */
export interface AuthenticateOptions {
  /** The realm of the challenge, e.g. `mesos`, `Mesosphere` (Marathon's). */
  realm: string;
  /** Whether this request must carry credentials (the server's switches decide). */
  required: (c: Context) => boolean;
  /** Writes a refusal; plain text by default (Marathon answers JSON). */
  render?: (c: Context, status: 401 | 429, message: string) => Response;
}

/** The hono middleware: sets `c.get("principal")` or answers 401/429 with a challenge. */
export function authenticate(
  security: ServerSecurity,
  options: AuthenticateOptions,
): MiddlewareHandler {
  const render = options.render ?? ((c, status, message) => c.text(message, status));
  const challenge = `Basic realm="${options.realm}", Bearer realm="${options.realm}"`;
  return async (c, next) => {
    c.set("principal", undefined);
    const credentials = security.credentials;
    if (!credentials) return await next();
    const header = c.req.header("Authorization");
    const client = clientAddress(c);
    const locked = security.throttle.lockedFor(client);
    if (locked > 0 && header && credentials.check(header, { dryRun: true }).kind !== "valid") {
      security.metrics.throttled++;
      c.header("Retry-After", String(Math.ceil(locked / 1000)));
      return render(c, 429, "Too many failed authentication attempts; try again later");
    }
    const result = credentials.check(header);
    if (result.kind === "valid") {
      c.set("principal", result.principal);
      return await next();
    }
    if (result.kind === "none" && !options.required(c)) return await next();
    if (result.kind !== "none") security.throttle.failed(client);
    security.metrics.unauthenticated++;
    c.header("WWW-Authenticate", challenge);
    return render(
      c,
      401,
      result.kind === "none" ? "Authentication required" : "Invalid credentials",
    );
  };
}

/** The principal `authenticate` found for this request (undefined: none). */
export function principalOf(c: Context): string | undefined {
  return c.get("principal");
}
