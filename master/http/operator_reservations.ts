/**
 * The operator calls that change an agent's reservations and volumes (Mesos v1, JSON):
 * RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES, each answered 202
 * once durable; and the legacy form endpoints `/master/reserve`, `/master/unreserve`,
 * `/master/create-volumes`, `/master/destroy-volumes` (`slaveId` and a JSON `resources` or
 * `volumes` array). Validation and effects are the core's (`core/reservations.ts`).
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import {
  AgentIdSchema,
  parseMesosJson,
  type Resource,
  Resources,
  ResourceSchema,
} from "../../protocol/mod.ts";
import { badRequest } from "../../base/mod.ts";
import { principalOf, type ServerSecurity } from "../../security/mod.ts";
import type { ResourceOperationType } from "../core/reservations.ts";
import type { MasterService } from "../runtime.ts";
import { type AuthenticationSwitches, requireCredentials } from "./auth.ts";
import { parseBody } from "./call_body.ts";

const Resources_ = z.array(ResourceSchema).min(1);

const ReservationCallSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("RESERVE_RESOURCES"),
    reserve_resources: z.object({
      agent_id: AgentIdSchema,
      resources: Resources_,
      source: z.array(ResourceSchema).optional(),
    }),
  }),
  z.object({
    type: z.literal("UNRESERVE_RESOURCES"),
    unreserve_resources: z.object({ agent_id: AgentIdSchema, resources: Resources_ }),
  }),
  z.object({
    type: z.literal("CREATE_VOLUMES"),
    create_volumes: z.object({ agent_id: AgentIdSchema, volumes: Resources_ }),
  }),
  z.object({
    type: z.literal("DESTROY_VOLUMES"),
    destroy_volumes: z.object({ agent_id: AgentIdSchema, volumes: Resources_ }),
  }),
]);
type ReservationCall = z.infer<typeof ReservationCallSchema>;

/** The call types this file answers. */
export const RESERVATION_CALLS: ReadonlySet<string> = new Set(
  ReservationCallSchema.options.map((o) => o.shape.type.value),
);

/** How calls are authenticated (they change state: `--authenticate-http-readwrite`). */
export interface ReservationCallOptions {
  security: ServerSecurity;
  switches: AuthenticationSwitches;
}

/** Answers a call of `RESERVATION_CALLS` (`body` already read as JSON): 202 once durable. */
export async function reservationCall(
  c: Context,
  runtime: MasterService,
  options: ReservationCallOptions & { body: unknown },
): Promise<Response> {
  requireCredentials(c, options.security, options.switches.httpReadwrite);
  const call = parseBody(options.body, ReservationCallSchema, "master::Call");
  const { agentId, type, resources } = operationOf(call);
  await apply(runtime, { agentId, type, resources, principal: principalOf(c) });
  return c.body(null, 202);
}

function operationOf(
  call: ReservationCall,
): { agentId: string; type: ResourceOperationType; resources: Resource[] } {
  switch (call.type) {
    case "RESERVE_RESOURCES": {
      const { agent_id, resources, source } = call.reserve_resources;
      if (source !== undefined) checkSource(source, resources);
      return { agentId: agent_id.value, type: "RESERVE", resources };
    }
    case "UNRESERVE_RESOURCES": {
      const { agent_id, resources } = call.unreserve_resources;
      return { agentId: agent_id.value, type: "UNRESERVE", resources };
    }
    case "CREATE_VOLUMES": {
      const { agent_id, volumes } = call.create_volumes;
      return { agentId: agent_id.value, type: "CREATE", resources: volumes };
    }
    case "DESTROY_VOLUMES": {
      const { agent_id, volumes } = call.destroy_volumes;
      return { agentId: agent_id.value, type: "DESTROY", resources: volumes };
    }
  }
}

/** `source`, when given, must be `resources` without their newest reservation. */
function checkSource(source: Resource[], resources: Resource[]): void {
  const popped = Resources.fromMesos(resources).withMeta((m) => ({
    reservations: m.reservations.slice(0, -1),
  }));
  const given = Resources.fromMesos(source);
  if (!given.equals(popped)) {
    throw badRequest(
      `'reserve_resources.source' ${given} is not 'resources' without their new reservation ` +
        `(${popped})`,
    );
  }
}

function apply(
  runtime: MasterService,
  a: {
    agentId: string;
    type: ResourceOperationType;
    resources: Resource[];
    principal: string | undefined;
  },
): Promise<void> {
  const resources = Resources.fromMesos(a.resources);
  return runtime.operator((m) =>
    m.operateOnAgent(a.agentId, {
      ops: [{ type: a.type, resources }],
      principal: a.principal,
    })
  );
}

const LEGACY: readonly [string, ResourceOperationType, "resources" | "volumes"][] = [
  ["reserve", "RESERVE", "resources"],
  ["unreserve", "UNRESERVE", "resources"],
  ["create-volumes", "CREATE", "volumes"],
  ["destroy-volumes", "DESTROY", "volumes"],
];

/**
 * `/master/reserve`, `/master/unreserve`, `/master/create-volumes`, `/master/destroy-volumes`
 * (also without `/master`): Mesos' v0 endpoints, a form with `slaveId` and a JSON array.
 */
export function legacyReservationRoutes(
  app: Hono,
  runtime: MasterService,
  options: ReservationCallOptions,
): void {
  for (const prefix of ["", "/master"]) {
    for (const [path, type, field] of LEGACY) {
      app.post(`${prefix}/${path}`, async (c) => {
        requireCredentials(c, options.security, options.switches.httpReadwrite);
        const form = await c.req.parseBody().catch(() => {
          throw badRequest("Expected a form body (application/x-www-form-urlencoded)");
        });
        const agentId = form["slaveId"];
        if (typeof agentId !== "string" || agentId === "") {
          throw badRequest("Missing 'slaveId' query parameter in the request body");
        }
        const text = form[field];
        if (typeof text !== "string") {
          throw badRequest(`Missing '${field}' query parameter in the request body`);
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw badRequest(`Error parsing '${field}': not JSON`);
        }
        const parsed = parseMesosJson(Resources_, json);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw badRequest(`Error parsing '${field}': '${issue.path.join(".")}': ${issue.message}`);
        }
        await apply(runtime, {
          agentId,
          type,
          resources: parsed.data,
          principal: principalOf(c),
        });
        return c.body(null, 202);
      });
    }
  }
}
