/**
 * The operator calls about the master itself (Mesos v1, JSON only): GET_ROLES, GET_FLAGS,
 * GET_MASTER, GET_METRICS and MARK_AGENT_GONE; and the legacy JSON endpoints `/roles`, `/flags`
 * and `/metrics/snapshot` (also under `/master/`). Views are read from the books; the one change
 * (MARK_AGENT_GONE) runs as a durable operation.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import {
  AgentIdSchema,
  DurationInfoSchema,
  isTerminalState,
  Resources,
} from "../../protocol/mod.ts";
import { badRequest } from "../../base/mod.ts";
import { principalOf, type ServerSecurity } from "../../security/mod.ts";
import { agentTimeoutMs } from "../core/context.ts";
import type { MasterView } from "../core/master_view.ts";
import { roleWeight } from "../core/roles.ts";
import { mesosMetricsSnapshot } from "../metrics/mod.ts";
import type { MasterService } from "../runtime.ts";
import { type AuthenticationSwitches, requireCredentials } from "./auth.ts";
import { callType, parseBody } from "./call_body.ts";
import { VERSION } from "./state_json.ts";

const MasterCallSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("GET_ROLES") }),
  z.object({ type: z.literal("GET_FLAGS") }),
  z.object({ type: z.literal("GET_MASTER") }),
  z.object({
    type: z.literal("GET_METRICS"),
    get_metrics: z.object({ timeout: DurationInfoSchema.optional() }).optional(),
  }),
  z.object({
    type: z.literal("MARK_AGENT_GONE"),
    mark_agent_gone: z.object({ agent_id: AgentIdSchema }),
  }),
]);

/** The call types this file answers. */
export const MASTER_CALLS: ReadonlySet<string> = new Set(
  MasterCallSchema.options.map((o) => o.shape.type.value),
);

/** How calls are authenticated and authorized, and where the master serves. */
export interface MasterCallOptions {
  security: ServerSecurity;
  switches: AuthenticationSwitches;
  /** The master's own URL, when known (HA: the one it advertises). */
  self?: string;
}

/** Answers a call of `MASTER_CALLS` (`body` already read as JSON). */
export async function masterCall(
  c: Context,
  runtime: MasterService,
  options: MasterCallOptions & { body: unknown },
): Promise<Response> {
  const { security, switches } = options;
  const principal = principalOf(c);
  const gone = callType(options.body) === "MARK_AGENT_GONE";
  requireCredentials(c, security, gone ? switches.httpReadwrite : switches.httpReadonly);
  const call = parseBody(options.body, MasterCallSchema, "master::Call");
  switch (call.type) {
    case "MARK_AGENT_GONE": {
      const agentId = call.mark_agent_gone.agent_id.value;
      security.authorize("mark_agents_gone", principal, agentId);
      await runtime.operator((m) => m.markAgentGone(agentId));
      return c.body(null, 200);
    }
    case "GET_ROLES": {
      const roles = await runtime.read((m) => rolesView(m)).then((all) =>
        all.filter((r) => security.acls.allows("view_roles", principal, r.name))
      );
      return c.json({
        type: "GET_ROLES",
        get_roles: {
          roles: roles.map((r) => ({
            name: r.name,
            weight: r.weight,
            frameworks: r.frameworks.map((value) => ({ value })),
            allocated: r.allocated.toMesos(),
            offered: r.offered.toMesos(),
            resources: r.allocated.toMesos(),
          })),
        },
      });
    }
    case "GET_FLAGS":
      security.authorize("view_flags", principal);
      return c.json({
        type: "GET_FLAGS",
        get_flags: {
          flags: Object.entries(await runtime.read((m) => flagsView(m, options)))
            .map(([name, value]) => ({ name, value })),
        },
      });
    case "GET_MASTER":
      return c.json({
        type: "GET_MASTER",
        get_master: await runtime.read((m) => masterInfo(m, options)),
      });
    case "GET_METRICS": {
      // The snapshot is read from the books at once: any timeout is met (a negative one refused).
      const timeout = call.get_metrics?.timeout?.nanoseconds;
      if (timeout !== undefined && timeout < 0) {
        throw badRequest(
          "Failed to validate master::Call: 'get_metrics.timeout' must not be negative",
        );
      }
      const snapshot = await runtime.read((m) => mesosMetricsSnapshot(m));
      return c.json({
        type: "GET_METRICS",
        get_metrics: {
          metrics: Object.entries(snapshot).map(([name, value]) => ({ name, value })),
        },
      });
    }
  }
}

/** One role as GET_ROLES and `/roles` show it. */
export interface RoleView {
  name: string;
  weight: number;
  frameworks: string[];
  allocated: Resources;
  offered: Resources;
}

/**
 * Every role the master knows of — subscribed by a framework, running tasks, holding offers,
 * given a weight or a quota — with its weight (`roleWeight`), frameworks and resources.
 */
export function rolesView(ctx: MasterView): RoleView[] {
  const roles = new Map<string, RoleView>();
  const role = (name: string) => {
    let r = roles.get(name);
    if (!r) {
      r = {
        name,
        weight: roleWeight(ctx, name),
        frameworks: [],
        allocated: Resources.empty(),
        offered: Resources.empty(),
      };
      roles.set(name, r);
    }
    return r;
  };
  for (const f of ctx.frameworks.values()) {
    for (const name of f.roles) role(name).frameworks.push(f.id);
  }
  for (const t of ctx.tasks.values()) {
    if (isTerminalState(t.state)) continue;
    const r = role(t.role);
    r.allocated = r.allocated.add(Resources.fromMesos(t.resources));
  }
  for (const o of ctx.offers.all()) {
    const r = role(o.role);
    r.offered = r.offered.add(o.resources);
  }
  for (const name of ctx.weights.keys()) role(name);
  for (const name of Object.keys(ctx.options.weights)) role(name);
  for (const name of ctx.quotas.keys()) role(name);
  return [...roles.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

const secs = (ms: number) => `${ms / 1000}secs`;

/**
 * The master's effective settings under Mesos' flag names where one fits (Tender's own
 * otherwise), as strings. Only settings: no secret, key or credential is ever among them.
 */
export function flagsView(
  ctx: MasterView,
  options: Pick<MasterCallOptions, "security" | "switches">,
): Record<string, string> {
  const o = ctx.options;
  return {
    hostname: o.hostname,
    port: String(o.port),
    version: VERSION,
    allocation_interval: secs(o.allocationIntervalMs),
    offer_timeout: o.offerTimeoutMs === 0 ? "" : secs(o.offerTimeoutMs),
    agent_reregister_timeout: secs(o.agentReregisterTimeoutMs),
    registry_max_agent_age: secs(o.agentMaxAgeMs),
    weights: Object.entries(o.weights).map(([r, w]) => `${r}=${w}`).join(","),
    heartbeat_interval: secs(o.heartbeatIntervalMs),
    agent_timeout: secs(agentTimeoutMs(o)),
    agent_ping_timeout: secs(o.agentPingTimeoutMs),
    max_agent_ping_timeouts: String(o.maxAgentPingTimeouts),
    drain: secs(o.drainMs),
    authenticate_frameworks: String(options.switches.frameworks ?? false),
    authenticate_agents: String(options.switches.agents ?? false),
    authenticate_http_readwrite: String(options.switches.httpReadwrite ?? false),
    authenticate_http_readonly: String(options.switches.httpReadonly ?? false),
    authenticators: options.security.authenticating ? "basic" : "",
  };
}

/** GET_MASTER's body: `master_info`, `start_time` and `elected_time` (seconds, as Mesos). */
export function masterInfo(ctx: MasterView, options: Pick<MasterCallOptions, "self">) {
  const url = options.self === undefined ? undefined : new URL(options.self);
  const hostname = url?.hostname ?? ctx.options.hostname;
  const port = url?.port ? Number(url.port) : ctx.options.port;
  const ip = /^[0-9.]+$/.test(hostname) ? hostname : undefined;
  return {
    master_info: {
      id: ctx.masterId,
      ...(ip === undefined ? {} : { ip: ipv4Number(ip) }),
      port,
      hostname,
      version: VERSION,
      address: { ...(ip === undefined ? {} : { ip }), hostname, port },
    },
    start_time: ctx.startTime / 1000,
    // A master with books has led since its start (a standby has none).
    elected_time: ctx.startTime / 1000,
  };
}

/** Mesos' `MasterInfo.ip`: an IPv4 address as a number in network byte order. */
function ipv4Number(ip: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split(".").map(Number);
  return ((d << 24) >>> 0) + (c << 16) + (b << 8) + a;
}

/** `/roles`, `/flags`, `/metrics/snapshot` (and under `/master/`), Mesos' v0 JSON. */
export function legacyMasterRoutes(app: Hono, runtime: MasterService, options: MasterCallOptions) {
  const { security, switches } = options;
  for (const prefix of ["", "/master"]) {
    app.get(`${prefix}/roles`, async (c) => {
      requireCredentials(c, security, switches.httpReadonly);
      const principal = principalOf(c);
      const roles = (await runtime.read((m) => rolesView(m)))
        .filter((r) => security.acls.allows("view_roles", principal, r.name));
      return c.json({
        roles: roles.map((r) => ({
          name: r.name,
          weight: r.weight,
          frameworks: r.frameworks,
          resources: r.allocated.toFlat(),
          allocated: r.allocated.toFlat(),
          offered: r.offered.toFlat(),
        })),
      });
    });
    app.get(`${prefix}/flags`, async (c) => {
      requireCredentials(c, security, switches.httpReadonly);
      security.authorize("view_flags", principalOf(c));
      return c.json({ flags: await runtime.read((m) => flagsView(m, options)) });
    });
  }
  app.get("/metrics/snapshot", async (c) => {
    requireCredentials(c, security, switches.httpReadonly);
    return c.json(await runtime.read((m) => mesosMetricsSnapshot(m)));
  });
}
