/**
 * Who may serve a virtual host. Routers send a host's requests to every app whose labels name
 * it (`HAPROXY_{n}_VHOST`, `TENDER_{n}_VHOST`, `TENDER_VHOST`), so blue/green and canary
 * releases are two apps naming one host. An app may therefore claim a host another app already
 * names only when both live in the same group (`/shop/web-blue` beside `/shop/web-green`);
 * `/other/app` cannot take over `/shop`'s host.
 */
import { TenderError } from "../../../base/mod.ts";
import type { App } from "../app/normalize.ts";
import { parentId } from "../app/path_id.ts";

const VHOST_LABEL = /^(?:HAPROXY_\d+_VHOST|TENDER_\d+_VHOST|TENDER_VHOST)$/;

/** The hosts an app's labels name, lower-cased, with the label naming each. */
export function vhostsOf(app: App): { host: string; label: string }[] {
  return Object.entries(app.labels).flatMap(([label, value]) =>
    VHOST_LABEL.test(label)
      ? value.split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "")
        .map((host) => ({ host, label }))
      : []
  );
}

/**
 * Throws Marathon's 422 when an app of `put` names a host that an app of `others` (the apps
 * that stay as they are) in another group already names.
 */
export function checkVhostClaims(put: readonly App[], others: readonly App[]): void {
  const owners = new Map<string, App>();
  for (const app of others) for (const { host } of vhostsOf(app)) owners.set(host, app);
  const details = [];
  for (const app of put) {
    for (const { host, label } of vhostsOf(app)) {
      const owner = owners.get(host);
      if (owner && owner.id !== app.id && parentId(owner.id) !== parentId(app.id)) {
        details.push({
          path: `/labels/${label}`,
          errors: [
            `virtual host '${host}' is served by app '${owner.id}' of another group; only apps ` +
            `of group '${parentId(owner.id)}' may share it`,
          ],
        });
      }
    }
  }
  if (details.length > 0) throw new TenderError("unprocessable", "Object is not valid", details);
}
