/**
 * Roles at runtime, as Mesos' UPDATE_QUOTA and UPDATE_WEIGHTS: each role's quota (a guarantee
 * the allocator holds resources back for, and a limit it never offers past) and its weight
 * (its DRF share is divided by it). Both are durable; the allocator is told at once.
 */
import { z } from "zod";
import { badRequest } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import type { MasterContext } from "./context.ts";
import type { MasterView } from "./master_view.ts";

/** The scalar names a quota may name, as Mesos 1.9 allows. */
export const QUOTA_RESOURCES = ["cpus", "mem", "disk", "gpus"] as const;

const Amount = z.number().finite().nonnegative();

/** A role's quota as stored: amounts by resource name, in whole units. */
export const QuotaRecordSchema = z.object({
  role: z.string(),
  guarantees: z.record(Amount),
  limits: z.record(Amount),
});
export type QuotaRecord = z.infer<typeof QuotaRecordSchema>;

/** A role's weight as stored. */
export const WeightRecordSchema = z.object({ role: z.string(), weight: z.number().positive() });
export type WeightRecord = z.infer<typeof WeightRecordSchema>;

/**
 * A role name as Mesos takes it: not empty, `*` or a path of components none of which is `.`,
 * `..` or `*`, none empty, none starting with `-`, no whitespace, control characters or
 * backslash. Returns why not, or undefined when it is fine.
 */
export function roleNameProblem(role: string): string | undefined {
  if (role === "*") return undefined;
  if (role.length === 0) return "a role name cannot be empty";
  if (role.length > 255) return "a role name is at most 255 characters";
  // deno-lint-ignore no-control-regex
  if (/[\s\\\u0000-\u001f\u007f]/.test(role)) {
    return "a role name cannot contain whitespace, control characters or a backslash";
  }
  for (const part of role.split("/")) {
    if (part === "") return "a role name cannot have an empty component ('//' or a '/' at an end)";
    if (part === "." || part === ".." || part === "*") {
      return `a role name cannot have the component '${part}'`;
    }
    if (part.startsWith("-")) return "a role name component cannot start with '-'";
  }
  return undefined;
}

/** The weight of a role: what UPDATE_WEIGHTS set, else `--weights`, else 1. */
export function roleWeight(ctx: MasterView, role: string): number {
  return ctx.weights.get(role) ?? ctx.options.weights[role] ?? 1;
}

/** Every role with a weight other than the default, by name. */
export function roleWeights(ctx: MasterView): WeightRecord[] {
  const all = new Map(Object.entries(ctx.options.weights));
  for (const [role, weight] of ctx.weights) all.set(role, weight);
  return [...all].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([role, weight]) => ({
    role,
    weight,
  }));
}

/** UPDATE_WEIGHTS: sets each role's weight (all checked before any is set). */
export function updateWeights(ctx: MasterContext, infos: readonly WeightRecord[]): void {
  infos.forEach((info, i) => {
    const problem = roleNameProblem(info.role);
    if (problem) throw badRequest(`'weight_infos[${i}].role' "${info.role}": ${problem}`);
    if (!(info.weight > 0) || !Number.isFinite(info.weight)) {
      throw badRequest(
        `'weight_infos[${i}].weight' of role "${info.role}" must be a positive number, got ${info.weight}`,
      );
    }
  });
  for (const { role, weight } of infos) {
    ctx.weights.set(role, weight);
    ctx.allocator.setWeight(role, weight);
    ctx.changes.push({ kind: "weight", role, value: { role, weight } });
  }
  ctx.wantAllocation();
}

/**
 * UPDATE_QUOTA: sets each role's quota; a config with neither guarantees nor limits removes the
 * role's quota (Mesos' default quota). Without `force`, refuses guarantees the cluster's agents
 * cannot hold in sum. All configs are checked before any is applied.
 */
export function updateQuota(
  ctx: MasterContext,
  request: { force: boolean; configs: readonly QuotaRecord[] },
): void {
  const seen = new Set<string>();
  request.configs.forEach((config, i) => {
    const at = `'quota_configs[${i}]`;
    const problem = roleNameProblem(config.role);
    if (problem) throw badRequest(`${at}.role' "${config.role}": ${problem}`);
    if (config.role === "*") {
      throw badRequest(`${at}.role': quota cannot be set for the default role '*'`);
    }
    if (seen.has(config.role)) {
      throw badRequest(`${at}.role': role "${config.role}" appears more than once`);
    }
    seen.add(config.role);
    for (const field of ["guarantees", "limits"] as const) {
      for (const [name, value] of Object.entries(config[field])) {
        if (!(QUOTA_RESOURCES as readonly string[]).includes(name)) {
          throw badRequest(
            `${at}.${field}.${name}': quota takes only ${QUOTA_RESOURCES.join(", ")}`,
          );
        }
        if (!(value >= 0) || !Number.isFinite(value)) {
          throw badRequest(`${at}.${field}.${name}' must be a finite non-negative number`);
        }
      }
    }
    for (const [name, guarantee] of Object.entries(config.guarantees)) {
      const limit = config.limits[name];
      if (limit !== undefined && guarantee > limit) {
        throw badRequest(
          `${at}.guarantees.${name}' of role "${config.role}" (${guarantee}) exceeds its limit (${limit})`,
        );
      }
    }
  });
  if (!request.force) {
    const next = new Map(ctx.quotas);
    for (const config of request.configs) next.set(config.role, config);
    let guaranteed = Resources.empty();
    for (const q of next.values()) guaranteed = guaranteed.add(Resources.scalars(q.guarantees));
    const capacity = clusterCapacity(ctx);
    for (const name of guaranteed.names()) {
      if (guaranteed.scalarMilli(name) > capacity.scalarMilli(name)) {
        throw badRequest(
          `Total quota guarantees of ${name} (${guaranteed.scalar(name)}) exceed the cluster's ` +
            `capacity (${capacity.scalar(name)}); set 'force' to set them anyway`,
        );
      }
    }
  }
  for (const config of request.configs) {
    const empty = Object.keys(config.guarantees).length + Object.keys(config.limits).length === 0;
    if (empty) ctx.quotas.delete(config.role);
    else ctx.quotas.set(config.role, config);
    ctx.allocator.setQuota(config.role, empty ? undefined : config);
    ctx.changes.push({ kind: "quota", role: config.role, value: empty ? null : config });
  }
  ctx.wantAllocation();
}

/** Every quota, by role name. */
export function quotas(ctx: MasterView): QuotaRecord[] {
  return [...ctx.quotas.values()].sort((a, b) => a.role < b.role ? -1 : a.role > b.role ? 1 : 0);
}

/** The sum of the resources of every agent the master knows and has not lost. */
function clusterCapacity(ctx: MasterContext): Resources {
  let total = Resources.empty();
  for (const agent of ctx.agents.values()) {
    if (agent.unreachableTime !== undefined) continue;
    total = total.add(Resources.fromMesos(agent.info.resources));
  }
  return total;
}
