/**
 * The operator calls for roles and maintenance (Mesos v1, JSON): UPDATE_QUOTA, GET_QUOTA,
 * UPDATE_WEIGHTS, GET_WEIGHTS, UPDATE_MAINTENANCE_SCHEDULE, GET_MAINTENANCE_SCHEDULE,
 * GET_MAINTENANCE_STATUS, START_MAINTENANCE, STOP_MAINTENANCE; and the legacy JSON endpoints
 * `/quota`, `/weights`, `/maintenance/schedule`, `/maintenance/status`, `/machine/down`,
 * `/machine/up` (also under `/master/`). Each call is a row of one table: its schema, whether it
 * changes state (then it needs read-write credentials and runs as a durable operation), and
 * what it does.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { badRequest, parseJson } from "../../base/mod.ts";
import { MachineIdSchema } from "../../protocol/mod.ts";
import { principalOf, type ServerSecurity } from "../../security/mod.ts";
import type { MasterView } from "../core/master_view.ts";
import { MaintenanceScheduleSchema } from "../core/machines.ts";
import { maintenanceStatus } from "../core/maintenance_schedule.ts";
import type { MasterOperations } from "../core/master.ts";
import { type QuotaRecord, quotas, roleWeights } from "../core/roles.ts";
import type { MasterService } from "../runtime.ts";
import { type AuthenticationSwitches, requireCredentials } from "./auth.ts";
import { callType, parseBody } from "./call_body.ts";

/** A quota amount: Mesos' `Value.Scalar` (`{"value": 1}`), or a bare number. */
const Scalar = z.union([z.number(), z.object({ value: z.number() })])
  .transform((v) => typeof v === "number" ? v : v.value);

const QuotaConfigSchema = z.object({
  role: z.string(),
  guarantees: z.record(Scalar).default({}),
  limits: z.record(Scalar).default({}),
});

const WeightInfoSchema = z.object({ role: z.string(), weight: z.number() });
const MachinesSchema = z.object({ machines: z.array(MachineIdSchema).min(1) });

/** The calls this file answers, by type. */
const RoleCallSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("UPDATE_QUOTA"),
    update_quota: z.object({
      force: z.boolean().default(false),
      quota_configs: z.array(QuotaConfigSchema).min(1),
    }),
  }),
  z.object({ type: z.literal("GET_QUOTA") }),
  z.object({
    type: z.literal("UPDATE_WEIGHTS"),
    update_weights: z.object({ weight_infos: z.array(WeightInfoSchema).min(1) }),
  }),
  z.object({ type: z.literal("GET_WEIGHTS") }),
  z.object({
    type: z.literal("UPDATE_MAINTENANCE_SCHEDULE"),
    update_maintenance_schedule: z.object({ schedule: MaintenanceScheduleSchema }),
  }),
  z.object({ type: z.literal("GET_MAINTENANCE_SCHEDULE") }),
  z.object({ type: z.literal("GET_MAINTENANCE_STATUS") }),
  z.object({ type: z.literal("START_MAINTENANCE"), start_maintenance: MachinesSchema }),
  z.object({ type: z.literal("STOP_MAINTENANCE"), stop_maintenance: MachinesSchema }),
]);
type RoleCall = z.infer<typeof RoleCallSchema>;

/** The call types this file answers. */
export const ROLE_CALLS: ReadonlySet<string> = new Set(
  RoleCallSchema.options.map((o) => o.shape.type.value),
);

const CHANGES = new Set([
  "UPDATE_QUOTA",
  "UPDATE_WEIGHTS",
  "UPDATE_MAINTENANCE_SCHEDULE",
  "START_MAINTENANCE",
  "STOP_MAINTENANCE",
]);

/** How calls are authenticated and authorized. */
export interface RoleCallAuth {
  security: ServerSecurity;
  switches: AuthenticationSwitches;
}

/**
 * Answers a call of `ROLE_CALLS` (its `body` already read as JSON): 200 with the view for a
 * GET_*, an empty 200 once a change is durable.
 */
export async function roleCall(
  c: Context,
  runtime: MasterService,
  options: RoleCallAuth & { body: unknown },
): Promise<Response> {
  const { security, switches } = options;
  const type = callType(options.body);
  requireCredentials(
    c,
    security,
    CHANGES.has(type) ? switches.httpReadwrite : switches.httpReadonly,
  );
  const call = parseBody(options.body, RoleCallSchema, "master::Call");
  const principal = principalOf(c);
  const view = await perform(runtime, call, { security, principal });
  return view === undefined ? c.body(null, 200) : c.json(view);
}

/** Runs one call: a change through the runtime (durable before it returns), a view read. */
function perform(runtime: MasterService, call: RoleCall, who: Who): Promise<unknown> {
  const { security, principal } = who;
  const change = (op: (m: MasterOperations) => void) => runtime.operator(op).then(() => undefined);
  switch (call.type) {
    case "UPDATE_QUOTA": {
      const configs: QuotaRecord[] = call.update_quota.quota_configs;
      for (const config of configs) security.authorize("update_quotas", principal, config.role);
      return change((m) => m.updateQuota({ force: call.update_quota.force, configs }));
    }
    case "GET_QUOTA":
      return views.quota(runtime, who).then((status) => ({
        type: "GET_QUOTA",
        get_quota: { status },
      }));
    case "UPDATE_WEIGHTS": {
      const infos = call.update_weights.weight_infos;
      for (const info of infos) security.authorize("update_weights", principal, info.role);
      return change((m) => m.updateWeights(infos));
    }
    case "GET_WEIGHTS":
      return views.weights(runtime, who).then((weight_infos) => ({
        type: "GET_WEIGHTS",
        get_weights: { weight_infos },
      }));
    case "UPDATE_MAINTENANCE_SCHEDULE":
      security.authorize("update_maintenance_schedules", principal);
      return change((m) => m.updateMaintenanceSchedule(call.update_maintenance_schedule.schedule));
    case "GET_MAINTENANCE_SCHEDULE":
      return views.schedule(runtime, who).then((schedule) => ({
        type: "GET_MAINTENANCE_SCHEDULE",
        get_maintenance_schedule: { schedule },
      }));
    case "GET_MAINTENANCE_STATUS":
      return views.status(runtime, who).then((status) => ({
        type: "GET_MAINTENANCE_STATUS",
        get_maintenance_status: { status },
      }));
    case "START_MAINTENANCE":
      security.authorize("start_maintenances", principal);
      return change((m) => m.startMaintenance(call.start_maintenance.machines));
    case "STOP_MAINTENANCE":
      security.authorize("stop_maintenances", principal);
      return change((m) => m.stopMaintenance(call.stop_maintenance.machines));
  }
}

type Who = { security: ServerSecurity; principal: string | undefined };

/** What the GET_* calls and the legacy GETs show, authorized for the caller. */
const views = {
  quota: (runtime: MasterService, who: Who) =>
    runtime.read((m) => quotaStatus(m, who.security, who.principal)),
  weights: (runtime: MasterService, who: Who) =>
    runtime.read((m) => visibleWeights(m, who.security, who.principal)),
  schedule: (runtime: MasterService, who: Who) => {
    who.security.authorize("get_maintenance_schedules", who.principal);
    return runtime.read((m) => m.maintenance.record.schedule);
  },
  status: (runtime: MasterService, who: Who) => {
    who.security.authorize("get_maintenance_statuses", who.principal);
    return runtime.read((m) => maintenanceStatus(m));
  },
};

/** Mesos' `QuotaStatus`: the quotas `view_quotas` lets the principal see. */
function quotaStatus(
  ctx: MasterView,
  security: ServerSecurity,
  principal: string | undefined,
) {
  const visible = quotas(ctx).filter((q) => security.acls.allows("view_quotas", principal, q.role));
  const scalars = (amounts: Record<string, number>) =>
    Object.fromEntries(Object.entries(amounts).map(([name, value]) => [name, { value }]));
  return {
    infos: visible.map((q) => ({
      role: q.role,
      // Quantities, as Mesos writes a QuotaInfo's guarantee: no role, no allocation.
      guarantee: Object.entries(q.guarantees).map(([name, value]) => ({
        name,
        type: "SCALAR",
        scalar: { value },
      })),
    })),
    configs: visible.map((q) => ({
      role: q.role,
      guarantees: scalars(q.guarantees),
      limits: scalars(q.limits),
    })),
  };
}

function visibleWeights(
  ctx: MasterView,
  security: ServerSecurity,
  principal: string | undefined,
) {
  return roleWeights(ctx).filter((w) => security.acls.allows("view_roles", principal, w.role));
}

/** Mesos' pre-v1 JSON endpoints for the same calls. */
export function legacyRoleRoutes(app: Hono, runtime: MasterService, auth: RoleCallAuth): void {
  const { security, switches } = auth;
  const both = (path: string) => [path, `/master${path}`];
  const read = (c: Context) => requireCredentials(c, security, switches.httpReadonly);
  const write = (c: Context) => requireCredentials(c, security, switches.httpReadwrite);
  const who = (c: Context) => ({ security, principal: principalOf(c) });
  const view = async (c: Context, get: (runtime: MasterService, who: Who) => Promise<unknown>) => {
    read(c);
    return c.json(await get(runtime, who(c)));
  };
  const done = async (c: Context, call: RoleCall) => {
    await perform(runtime, call, who(c));
    return c.body(null, 200);
  };

  for (const path of both("/quota")) {
    app.get(path, (c) => view(c, views.quota));
    // The pre-1.9 QuotaRequest sets a guarantee; as Mesos 1.9 does, the limit becomes the same.
    app.post(path, async (c) => {
      write(c);
      const request = parseBody(
        await body(c),
        z.object({
          role: z.string(),
          guarantee: z.array(z.object({
            name: z.string(),
            type: z.literal("SCALAR").default("SCALAR"),
            scalar: z.object({ value: z.number() }),
          })).min(1),
          force: z.boolean().default(false),
        }),
        "QuotaRequest",
      );
      const amounts: Record<string, number> = {};
      for (const r of request.guarantee) amounts[r.name] = (amounts[r.name] ?? 0) + r.scalar.value;
      const known = await runtime.read((m) => m.quotas.has(request.role));
      if (known) {
        throw badRequest(
          `Quota cannot be set for role "${request.role}" which already has quota (use UPDATE_QUOTA)`,
        );
      }
      return done(c, {
        type: "UPDATE_QUOTA",
        update_quota: {
          force: request.force,
          quota_configs: [{ role: request.role, guarantees: amounts, limits: amounts }],
        },
      });
    });
    app.delete(`${path}/:role{.+}`, async (c) => {
      write(c);
      const role = c.req.param("role");
      const known = await runtime.read((m) => m.quotas.has(role));
      if (!known) throw badRequest(`Cannot remove non-existent quota for role "${role}"`);
      return done(c, {
        type: "UPDATE_QUOTA",
        update_quota: { force: true, quota_configs: [{ role, guarantees: {}, limits: {} }] },
      });
    });
  }
  for (const path of both("/weights")) {
    app.get(path, (c) => view(c, views.weights));
    app.put(path, async (c) => {
      write(c);
      const infos = parseBody(await body(c), z.array(WeightInfoSchema).min(1), "weights");
      return done(c, { type: "UPDATE_WEIGHTS", update_weights: { weight_infos: infos } });
    });
  }
  for (const path of both("/maintenance/schedule")) {
    app.get(path, (c) => view(c, views.schedule));
    app.post(path, async (c) => {
      write(c);
      const schedule = parseBody(await body(c), MaintenanceScheduleSchema, "maintenance::Schedule");
      return done(c, {
        type: "UPDATE_MAINTENANCE_SCHEDULE",
        update_maintenance_schedule: { schedule },
      });
    });
  }
  for (const path of both("/maintenance/status")) {
    app.get(path, (c) => view(c, views.status));
  }
  for (const [suffix, type] of [["down", "START_MAINTENANCE"], ["up", "STOP_MAINTENANCE"]]) {
    for (const path of both(`/machine/${suffix}`)) {
      app.post(path, async (c) => {
        write(c);
        const machines = parseBody(await body(c), MachinesSchema.shape.machines, "MachineIDs");
        return done(
          c,
          type === "START_MAINTENANCE"
            ? { type: "START_MAINTENANCE", start_maintenance: { machines } }
            : { type: "STOP_MAINTENANCE", stop_maintenance: { machines } },
        );
      });
    }
  }
}

async function body(c: Context): Promise<unknown> {
  return parseJson(await c.req.text());
}
