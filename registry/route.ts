/** Turns a `/v2/...` path into a typed route; repository names contain `/`, so suffixes decide. */
import { RegistryError } from "./errors.ts";
import { isValidName } from "./names.ts";

/** Every endpoint of the API. */
export type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "referrers"; name: string; digest: string };

/** The kind of a route. */
export type RouteKind = Route["kind"];

const PATTERNS: [RegExp, (m: RegExpMatchArray) => Route][] = [
  [/^(.+)\/tags\/list$/, (m) => ({ kind: "tags", name: m[1] ?? "" })],
  [
    /^(.+)\/manifests\/([^/]+)$/,
    (m) => ({ kind: "manifest", name: m[1] ?? "", reference: m[2] ?? "" }),
  ],
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: "uploads", name: m[1] ?? "" })],
  [
    /^(.+)\/blobs\/uploads\/([^/]+)$/,
    (m) => ({ kind: "upload", name: m[1] ?? "", id: m[2] ?? "" }),
  ],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: "blob", name: m[1] ?? "", digest: m[2] ?? "" })],
  [
    /^(.+)\/referrers\/([^/]+)$/,
    (m) => ({ kind: "referrers", name: m[1] ?? "", digest: m[2] ?? "" }),
  ],
];

/** Parses a request path; undefined for paths outside the API, NAME_INVALID for bad names. */
export function parseRoute(pathname: string): Route | undefined {
  if (pathname === "/v2/" || pathname === "/v2") return { kind: "base" };
  if (pathname === "/v2/_catalog") return { kind: "catalog" };
  if (!pathname.startsWith("/v2/")) return undefined;
  const rest = pathname.slice(4);
  for (const [pattern, build] of PATTERNS) {
    const match = rest.match(pattern);
    if (!match) continue;
    const route = build(match);
    if ("name" in route) {
      const name = route.name;
      if (!isValidName(name)) {
        throw new RegistryError("NAME_INVALID", `Repository name "${name}" is invalid`, { name });
      }
      return { ...route, name };
    }
    return route;
  }
  return undefined;
}

/** The access a request needs: reading, writing, deleting, or listing the catalog. */
export type Action = "pull" | "push" | "delete" | "catalog";

/** Which action a method on a route needs. */
export function actionOf(route: Route, method: string): Action {
  if (route.kind === "catalog") return "catalog";
  if (method === "DELETE") return route.kind === "upload" ? "push" : "delete";
  if (method === "GET" || method === "HEAD") return route.kind === "upload" ? "push" : "pull";
  return "push";
}
