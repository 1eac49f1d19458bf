/**
 * Authorization by ACLs in Mesos' JSON shape (`--acls FILE`):
 *
 * ```json
 * {
 *   "permissive": false,
 *   "register_frameworks": [
 *     { "principals": { "values": ["marathon"] }, "roles": { "values": ["*", "web"] } }
 *   ],
 *   "run_tasks": [{ "principals": { "type": "ANY" }, "users": { "values": ["nobody"] } }],
 *   "teardown_frameworks": [{ "principals": { "values": ["ops"] }, "framework_principals": { "type": "ANY" } }]
 * }
 * ```
 *
 * Each action holds rules of a subject (`principals`) and an object (its own key). An entity is
 * `{"values": [...]}`, `{"type": "ANY"}` or `{"type": "NONE"}`. As Mesos' local authorizer
 * does, the rules of an action are read in order and the first whose subject and object both
 * match decides: it allows unless either side is `NONE`. When none matches, `permissive`
 * (default true) decides — except for the actions in `DENIED_UNLESS_ALLOWED`, which no
 * permissive default opens. A request with no principal (unauthenticated) matches only `ANY`
 * and `NONE` subjects. Objects of kind `paths` and `repositories` match by prefix at a `/` boundary (the
 * rule `/shop` covers `/shop/web`), `jobs` at a `.` (`prod` covers `prod.backup`); all others
 * match exactly.
 */
import { z } from "zod";

/** Every action Tender authorizes, with the key its object is named by. */
export const ACL_OBJECTS = {
  // Mesos master
  register_frameworks: "roles",
  run_tasks: "users",
  teardown_frameworks: "framework_principals",
  view_frameworks: "users",
  view_tasks: "users",
  view_executors: "users",
  access_sandboxes: "users",
  access_mesos_logs: "logs",
  register_agents: "agents",
  drain_agents: "agents",
  reactivate_agents: "agents",
  mark_agents_gone: "agents",
  // reservations and persistent volumes (Mesos' names and objects)
  reserve_resources: "roles",
  /** The object is the principal that made the reservation. */
  unreserve_resources: "reserver_principals",
  create_volumes: "roles",
  /** The object is the principal that created the volume. */
  destroy_volumes: "creator_principals",
  /** GET_FLAGS and `/flags`; the object is always ANY (Mesos' `flags` entity). */
  view_flags: "flags",
  // roles at runtime and maintenance (Mesos' names; machines are ANY or NONE, as there)
  update_quotas: "roles",
  view_quotas: "roles",
  update_weights: "roles",
  view_roles: "roles",
  update_maintenance_schedules: "machines",
  start_maintenances: "machines",
  stop_maintenances: "machines",
  get_maintenance_schedules: "machines",
  get_maintenance_statuses: "machines",
  // containers that reach past their sandbox: refused unless a rule allows them
  launch_privileged_containers: "users",
  mount_host_paths: "paths",
  // Marathon, per app or group path
  view_apps: "paths",
  create_apps: "paths",
  update_apps: "paths",
  delete_apps: "paths",
  // Marathon's secret store, per secret path (values are never shown: view lists names)
  view_secrets: "paths",
  create_secrets: "paths",
  update_secrets: "paths",
  delete_secrets: "paths",
  // the registry, per repository
  pull_images: "repositories",
  push_images: "repositories",
  // the jobs framework (Metronome's API), per job id; `update_jobs` also starts and stops runs
  view_jobs: "jobs",
  create_jobs: "jobs",
  update_jobs: "jobs",
  delete_jobs: "jobs",
} as const;

/** An action an ACL can name. */
export type AclAction = keyof typeof ACL_OBJECTS;

/** Actions that stay refused when no rule allows them, whatever `permissive` says. */
export const DENIED_UNLESS_ALLOWED: ReadonlySet<AclAction> = new Set([
  "launch_privileged_containers",
  "mount_host_paths",
]);

const PREFIX_OBJECTS = new Set(["paths", "repositories"]);
/** Job ids are dotted (`prod.backup`): the rule `prod` covers `prod.backup`. */
const DOTTED_OBJECTS = new Set(["jobs"]);

const EntitySchema = z.union([
  z.object({ values: z.array(z.string().min(1).max(4096)).min(1).max(10_000) }).strict(),
  z.object({ type: z.enum(["ANY", "NONE"]) }).strict(),
]);
type Entity = z.infer<typeof EntitySchema>;

function ruleSchema(object: string) {
  return z.object({ principals: EntitySchema, [object]: EntitySchema }).strict();
}

/** The file's shape; an unknown action or object key is an error, not a rule ignored. */
export const AclsFileSchema = z.object({
  permissive: z.boolean().default(true),
  ...Object.fromEntries(
    Object.entries(ACL_OBJECTS).map(([action, object]) => [
      action,
      z.array(ruleSchema(object)).max(10_000).optional(),
    ]),
  ) as { [A in AclAction]: z.ZodOptional<z.ZodArray<ReturnType<typeof ruleSchema>>> },
}).strict();

interface Rule {
  subject: Entity;
  object: Entity;
}

/** Parses an ACL file's text; throws an Error naming the file, the field and the problem. */
export function parseAcls(text: string, source = "acls"): Acls {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const parsed = AclsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: '${issue.path.join(".") || "(file)"}': ${issue.message}`);
  }
  const rules = new Map<AclAction, Rule[]>();
  for (const [action, object] of Object.entries(ACL_OBJECTS) as [AclAction, string][]) {
    const list = (parsed.data[action] ?? []) as Record<string, Entity>[];
    rules.set(action, list.map((r) => ({ subject: r.principals!, object: r[object]! })));
  }
  return new Acls(parsed.data.permissive, rules);
}

/** Reads and parses an ACL file. */
export async function loadAcls(path: string): Promise<Acls> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read ACL file ${path}: ${(e as Error).message}`);
  }
  return parseAcls(text, path);
}

/** Answers whether a principal may do an action to an object. */
export class Acls {
  readonly #permissive: boolean;
  readonly #rules: ReadonlyMap<AclAction, readonly Rule[]>;

  constructor(permissive: boolean, rules: ReadonlyMap<AclAction, readonly Rule[]>) {
    this.#permissive = permissive;
    this.#rules = rules;
  }

  /** ACLs that allow everything (no file): permissive, no rules. */
  static open(): Acls {
    return new Acls(true, new Map());
  }

  /**
   * Whether everyone may do `action` to everything: no rule names the action and the default
   * allows it. Lets a caller skip filtering item by item (the catalog's per-caller view).
   */
  allowsAll(action: AclAction): boolean {
    if ((this.#rules.get(action) ?? []).length > 0) return false;
    return !DENIED_UNLESS_ALLOWED.has(action) && this.#permissive;
  }

  /**
   * Whether `principal` (undefined: unauthenticated) may do `action` to `object` (undefined:
   * to any object, as when asking "may this principal drain agents at all").
   */
  allows(action: AclAction, principal: string | undefined, object?: string): boolean {
    const kind = ACL_OBJECTS[action];
    const prefix = PREFIX_OBJECTS.has(kind) ? "/" : DOTTED_OBJECTS.has(kind) ? "." : undefined;
    for (const rule of this.#rules.get(action) ?? []) {
      if (!subjectMatches(rule.subject, principal)) continue;
      if (!objectMatches(rule.object, object, prefix)) continue;
      return !("type" in rule.subject && rule.subject.type === "NONE") &&
        !("type" in rule.object && rule.object.type === "NONE");
    }
    return DENIED_UNLESS_ALLOWED.has(action) ? false : this.#permissive;
  }
}

function subjectMatches(entity: Entity, principal: string | undefined): boolean {
  if ("type" in entity) return true; // ANY matches and allows; NONE matches and refuses
  return principal !== undefined && entity.values.includes(principal);
}

function objectMatches(
  entity: Entity,
  object: string | undefined,
  prefix: "/" | "." | undefined,
): boolean {
  if ("type" in entity) return true;
  if (object === undefined) return false;
  return entity.values.some((v) =>
    v === object || (prefix === "/" && isUnder(object, v)) ||
    (prefix === "." && object.startsWith(`${v}.`))
  );
}

function isUnder(path: string, root: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path.startsWith(root.endsWith("/") ? root : `${root}/`);
}
