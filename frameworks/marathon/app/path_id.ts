/**
 * Marathon path ids (`/prod/web`): canonicalisation against a base, validation per segment,
 * and the derived Mesos names (task name `web.prod`, safe id `prod_web`).
 */

/** Marathon's segment regex, fully matched as Java's `matches`; `.` and `..` are allowed. */
export const ID_SEGMENT_REGEX =
  /^(?:(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.))$/;

const ID_SEGMENT_SOURCE =
  "^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$";

const RESERVED_LAST = ["restart", "tasks", "versions", ".", ".."];

/** Resolves `id` against `base` (an absolute group id): `.`/`..` handled, result absolute. */
export function resolvePathId(id: string, base = "/"): string {
  const start = id.startsWith("/") ? [] : segments(base);
  const out = [...start];
  for (const seg of id.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

/** Whether resolving `id` against `base` climbs above the root (`../../x` from `/`). */
export function climbsAboveRoot(id: string, base = "/"): boolean {
  let depth = id.startsWith("/") ? 0 : segments(base).length;
  for (const seg of id.split("/")) {
    if (seg === "" || seg === ".") continue;
    depth += seg === ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

/** The non-empty segments of an absolute or relative id. */
export function segments(id: string): string[] {
  return id.split("/").filter((s) => s !== "");
}

/** The enclosing group of an absolute id (`/a/b` → `/a`, `/a` → `/`). */
export function parentId(id: string): string {
  const s = segments(id);
  return "/" + s.slice(0, -1).join("/");
}

/** Whether `child` lies strictly below `group`. */
export function isChildOf(child: string, group: string): boolean {
  const c = segments(child), g = segments(group);
  return c.length > g.length && g.every((s, i) => c[i] === s);
}

/**
 * Validation errors of a raw (uncanonicalised) id, Marathon's wording; empty when valid.
 * Checks every raw segment against the regex, then the canonical form for root and reserved
 * names.
 */
export function pathIdErrors(raw: string, base = "/"): string[] {
  const errors: string[] = [];
  const bad = raw.split("/").filter((s) => s !== "" && !ID_SEGMENT_REGEX.test(s));
  if (bad.length > 0) errors.push(`must fully match regular expression '${ID_SEGMENT_SOURCE}'`);
  if (climbsAboveRoot(raw, base)) errors.push("must not point above the root group ('..')");
  const canonical = resolvePathId(raw, base);
  if (canonical === "/") {
    errors.push("Path must contain at least one path element");
  } else {
    const last = raw.split("/").filter((s) => s !== "").at(-1) ?? "";
    if (RESERVED_LAST.includes(last)) {
      errors.push(
        `must not end with any of the following reserved keywords: ${RESERVED_LAST.join(", ")}`,
      );
    }
  }
  return errors;
}

/** Mesos task name: the path reversed, joined by dots (`/prod/web` → `web.prod`). */
export function taskName(id: string): string {
  return segments(id).reverse().join(".");
}

/** Marathon's "safe path": segments joined by `_` (`/prod/web` → `prod_web`). */
export function safePath(id: string): string {
  return segments(id).join("_");
}

/** The app id inside a task or instance id made by `instanceIdFor` (`prod_web.instance-…`). */
export function appIdOfInstance(instanceId: string): string | undefined {
  const m = /^(.+?)\.(instance|marathon)-/.exec(instanceId);
  return m ? "/" + m[1]!.split("_").join("/") : undefined;
}

/** An instance id for an app: `<safePath>.instance-<uuid>`. */
export function instanceIdFor(appId: string, uuid: string): string {
  return `${safePath(appId)}.instance-${uuid}`;
}

/**
 * The instance id inside a task id: an app's `<instance>._app.<n>`, a pod container's
 * `<instance>.<container name>` (instance ids end in `.instance-<uuid>`, a uuid has no dot).
 */
export function instanceIdOfTask(taskId: string): string {
  const m = /^(.+?\.(?:instance|marathon)-[^.]+)(?:\..*)?$/.exec(taskId);
  return m ? m[1]! : taskId.replace(/\._app\.\d+$/, "");
}
