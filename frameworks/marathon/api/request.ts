/** Request helpers shared by the Marathon routes: body decoding, boolean flags, embeds, paths. */
import type { Context } from "hono";
import { decodeBody } from "../app/parse.ts";

/** The decoded JSON or YAML body of a request. */
export async function body(c: Context): Promise<unknown> {
  return decodeBody(await c.req.text(), c.req.header("content-type") ?? "application/json");
}

/** A boolean query flag (`?force=true`); `fallback` when absent. */
export function flag(c: Context, name: string, fallback = false): boolean {
  const v = c.req.query(name);
  return v === undefined ? fallback : v === "" || v.toLowerCase() === "true";
}

/** Every `embed` value, prefixes (`apps.`, `app.`, `group.apps.`) removed. */
export function embeds(c: Context): Set<string> {
  const all = c.req.queries("embed") ?? [];
  return new Set(all.map((e) => e.replace(/^(group\.apps|apps|app)\./, "")));
}

/** What follows `/v2/apps` in an app route: the app id and the sub-resource. */
export type AppPath =
  | { kind: "app"; id: string }
  | { kind: "versions"; id: string }
  | { kind: "version"; id: string; version: string }
  | { kind: "restart"; id: string }
  | { kind: "tasks"; id: string }
  | { kind: "task"; id: string; taskId: string };

/** Splits an app route (ids have slashes; reserved last segments mark sub-resources). */
export function appPath(rest: string): AppPath {
  const path = "/" + rest.replace(/^\/+|\/+$/g, "");
  let m = /^(.*)\/versions\/([^/]+)$/.exec(path);
  if (m) return { kind: "version", id: m[1]!, version: decodeURIComponent(m[2]!) };
  if ((m = /^(.*)\/versions$/.exec(path))) return { kind: "versions", id: m[1]! };
  if ((m = /^(.*)\/restart$/.exec(path))) return { kind: "restart", id: m[1]! };
  if ((m = /^(.*)\/tasks\/([^/]+)$/.exec(path))) return { kind: "task", id: m[1]!, taskId: m[2]! };
  if ((m = /^(.*)\/tasks$/.exec(path))) return { kind: "tasks", id: m[1]! };
  return { kind: "app", id: path };
}

/** The client address, as far as the connection tells it. */
export function clientIp(c: Context): string {
  return c.req.header("x-forwarded-for") ?? "";
}
