/**
 * Marathon's authentication and authorization, as its HTTP credentials and auth plugins do it:
 * with credentials configured every route but `/ping` needs them (401 with
 * `WWW-Authenticate: Basic realm="Mesosphere"` and a `{"message"}` body); the ACLs' view_apps,
 * create_apps, update_apps and delete_apps decide per app, pod and group path (prefix match).
 * The secret store's routes ask view_secrets, create_secrets, update_secrets and delete_secrets
 * per secret path. Lists show only what the principal may view; a change needs the right action on every path
 * it touches (the service asks, `MutationOptions.authorize`), else 403 naming the principal,
 * the action and the path, counted in `/metrics`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { authenticate, principalOf, ServerSecurity } from "../../../security/mod.ts";
import { resolvePathId } from "../app/path_id.ts";
import type { AuthorizeChange } from "../service/marathon_service.ts";

/** What the ACLs allow on Marathon's secret store, per secret path. */
export type SecretAction = "view_secrets" | "create_secrets" | "update_secrets" | "delete_secrets";

/** Marathon's default realm (`--http_realm`). */
export const MARATHON_REALM = "Mesosphere";

/** The authentication middleware of Marathon's API (and of a standby's proxy). */
export function marathonAuthentication(
  security: ServerSecurity,
  realm = MARATHON_REALM,
): MiddlewareHandler {
  return authenticate(security, {
    realm,
    // As Marathon: /ping answers load balancers without credentials.
    required: (c) => c.req.path !== "/ping",
    render: (c, status, message) => c.json({ message }, status),
  });
}

/** What one request's principal may see and do. */
export class RequestAccess {
  readonly #security: ServerSecurity;
  readonly principal: string | undefined;

  constructor(security: ServerSecurity, principal: string | undefined) {
    this.#security = security;
    this.principal = principal;
  }

  /** The access of the request `c` (its principal as `authenticate` found it). */
  static of(security: ServerSecurity, c: Context): RequestAccess {
    return new RequestAccess(security, principalOf(c));
  }

  // Paths are checked canonical (`/a/../b` is `/b`), as the store keeps them.

  /** Whether the principal may view `path` (for filtering lists: not counted as a denial). */
  canView(path: string): boolean {
    return this.#security.acls.allows("view_apps", this.principal, resolvePathId(path));
  }

  /** 403 unless the principal may view `path`. */
  mustView(path: string): void {
    this.#security.authorize("view_apps", this.principal, resolvePathId(path));
  }

  /** Whether the principal may do a secret action to the secret at `path` (canonical). */
  canSecret(action: SecretAction, path: string): boolean {
    return this.#security.acls.allows(action, this.principal, path);
  }

  /** 403 unless the principal may do a secret action to the secret at `path` (canonical). */
  mustSecret(action: SecretAction, path: string): void {
    this.#security.authorize(action, this.principal, path);
  }

  /** The check the service runs on every path a mutation touches. */
  readonly authorize: AuthorizeChange = (action, path) => {
    this.#security.authorize(action, this.principal, resolvePathId(path));
  };
}
