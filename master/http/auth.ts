/**
 * Which of the master's routes need credentials, by Mesos' switches: the scheduler API with
 * `--authenticate-frameworks`, the agent API with `--authenticate-agents`, operator calls that
 * change state with `--authenticate-http-readwrite`, and reads (state, operator GET_*, the
 * catalog, `/metrics`, the dashboard and its log proxy) with `--authenticate-http-readonly`.
 * `/health` and `/master/redirect` stay open; the registry under `/v2/` checks its own.
 */
import type { Context, MiddlewareHandler } from "hono";
import { TenderError } from "../../base/mod.ts";
import { authenticate, principalOf, type ServerSecurity } from "../../security/mod.ts";

/** Mesos' authentication switches; each needs a credentials file. */
export interface AuthenticationSwitches {
  frameworks?: boolean;
  agents?: boolean;
  httpReadwrite?: boolean;
  httpReadonly?: boolean;
}

/** The realm of the master's challenge (the browser's Basic prompt names it). */
export const MASTER_REALM = "mesos";

const OPEN = new Set(["/health", "/master/health", "/master/redirect"]);

/** The challenge a 401 carries. */
export const MASTER_CHALLENGE = `Basic realm="${MASTER_REALM}", Bearer realm="${MASTER_REALM}"`;

/**
 * Whether a request must carry credentials before its handler runs. The operator API's
 * `/api/v1` needs them here only when both HTTP switches are on: its handler knows the call
 * type and asks again (`requireCredentials`); a standby, which only redirects, asks when
 * either is on.
 */
export function credentialsRequired(
  switches: AuthenticationSwitches,
  path: string,
  options: { standby?: boolean } = {},
): boolean {
  if (OPEN.has(path)) return false;
  if (path === "/api/v1/scheduler") return switches.frameworks ?? false;
  if (path === "/api/v1/agent") return switches.agents ?? false;
  if (path === "/api/v1") {
    const readonly = switches.httpReadonly ?? false, readwrite = switches.httpReadwrite ?? false;
    return options.standby ? readonly || readwrite : readonly && readwrite;
  }
  return switches.httpReadonly ?? false;
}

/** The master's authentication middleware; the registry's `/v2/` routes are left alone. */
export function masterAuthentication(
  security: ServerSecurity,
  switches: AuthenticationSwitches,
  options: { standby?: boolean } = {},
): MiddlewareHandler {
  const check = authenticate(security, {
    realm: MASTER_REALM,
    required: (c) => credentialsRequired(switches, c.req.path, options),
  });
  return async (c, next) => {
    if (c.req.path === "/v2" || c.req.path.startsWith("/v2/")) return await next();
    return await check(c, next);
  };
}

/**
 * Throws a 401 when `needed` and the request carried no valid credentials (the app's `onError`
 * adds the challenge and counts it).
 */
export function requireCredentials(
  c: Context,
  security: ServerSecurity,
  needed: boolean | undefined,
): void {
  if (!needed || !security.authenticating || principalOf(c) !== undefined) return;
  throw new TenderError("unauthorized", "Authentication required");
}
