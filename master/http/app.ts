/**
 * The master's HTTP API: the Mesos v1 scheduler API, the agent API, and the operator
 * endpoints. Handlers parse, call the runtime, and answer; one `onError` writes failures.
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { z } from "zod";
import {
  AgentCallSchema,
  AgentIdSchema,
  CallSchema,
  DurationInfoSchema,
  FrameworkIdSchema,
} from "../../protocol/mod.ts";
import {
  badRequest,
  clientAddress,
  httpErrorHandler,
  jsonStream,
  parseJson,
  plainText,
  requestLimits,
  StreamSlots,
  TenderError,
} from "../../base/mod.ts";
import { principalOf, ServerSecurity } from "../../security/mod.ts";
import type { MasterService } from "../runtime.ts";
import type { MasterView } from "../core/master_view.ts";
import { type AuthenticationSwitches, MASTER_CHALLENGE, requireCredentials } from "./auth.ts";
import { masterStateStreamed, operatorView, type Visibility } from "./state_json.ts";
import { legacyRoleRoutes, ROLE_CALLS, roleCall } from "./operator_roles.ts";
import { legacyMasterRoutes, MASTER_CALLS, masterCall } from "./operator_calls.ts";
import {
  legacyReservationRoutes,
  RESERVATION_CALLS,
  reservationCall,
} from "./operator_reservations.ts";
import { OperatorEvents } from "./operator_stream.ts";
import { callType, parseBody } from "./call_body.ts";

/** The operator calls that change state: agent maintenance. */
const MaintenanceCallSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("DRAIN_AGENT"),
    drain_agent: z.object({
      agent_id: AgentIdSchema,
      max_grace_period: DurationInfoSchema.optional(),
      mark_gone: z.boolean().optional(),
    }),
  }),
  z.object({
    type: z.literal("REACTIVATE_AGENT"),
    reactivate_agent: z.object({ agent_id: AgentIdSchema }),
  }),
  z.object({
    type: z.literal("TEARDOWN"),
    teardown: z.object({ framework_id: FrameworkIdSchema }),
  }),
]);

const CHANGES = new Set(["DRAIN_AGENT", "REACTIVATE_AGENT", "TEARDOWN"]);

/** How the master's app authenticates and authorizes (default: security off). */
export interface MasterAppSecurity {
  security: ServerSecurity;
  switches: AuthenticationSwitches;
}

/** Builds the hono app over a running master. */
export function masterApp(
  runtime: MasterService,
  options: {
    middleware?: MiddlewareHandler[];
    self?: string;
    auth?: MasterAppSecurity;
    /** The long-lived streams each client holds (operator SUBSCRIBE counts among them). */
    slots?: StreamSlots;
  } = {},
): Hono {
  const { security, switches } = options.auth ??
    { security: ServerSecurity.off(), switches: {} };
  const app = new Hono();
  const operatorEvents = new OperatorEvents(runtime);
  const slots = options.slots ?? new StreamSlots();
  for (const m of options.middleware ?? []) app.use(m);
  app.use(requestLimits());

  app.onError(httpErrorHandler("master", (failure, c) => {
    if (failure.code === "unauthorized") {
      // Refusals past the middleware: an operator call its switch covers, a claimed principal.
      security.metrics.unauthenticated++;
      c.header("WWW-Authenticate", MASTER_CHALLENGE);
    }
    return plainText(failure, c);
  }));

  app.post("/api/v1/scheduler", async (c) => {
    const call = parseBody(await jsonBody(c), CallSchema, "scheduler::Call");
    const streamId = c.req.header("Mesos-Stream-Id") ?? null;
    if (call.type === "SUBSCRIBE") {
      if (streamId !== null) {
        throw badRequest("Subscribe calls should not include the 'Mesos-Stream-Id' header");
      }
      const { streamId: id, body } = await runtime.subscribeFramework(call, principalOf(c));
      return streamResponse(id, body);
    }
    await runtime.schedulerCall(call, streamId, principalOf(c));
    return c.body(null, 202);
  });

  app.post("/api/v1/agent", async (c) => {
    const call = parseBody(await jsonBody(c), AgentCallSchema, "agent::Call");
    if (call.type === "SUBSCRIBE") {
      const { streamId, body } = await runtime.subscribeAgent(
        call,
        getConnInfo(c).remote.address,
        principalOf(c),
      );
      return streamResponse(streamId, body);
    }
    await runtime.agentCall(call, principalOf(c));
    return c.body(null, 202);
  });

  app.post("/api/v1", async (c) => {
    const body = await jsonBody(c);
    const type = callType(body);
    const principal = principalOf(c);
    if (ROLE_CALLS.has(type)) return await roleCall(c, runtime, { security, switches, body });
    if (RESERVATION_CALLS.has(type)) {
      return await reservationCall(c, runtime, { security, switches, body });
    }
    if (MASTER_CALLS.has(type)) {
      return await masterCall(c, runtime, { security, switches, self: options.self, body });
    }
    if (type === "SUBSCRIBE") {
      requireCredentials(c, security, switches.httpReadonly);
      const accept = c.req.header("Accept") ?? "application/json";
      if (!/application\/(json|recordio)|\*\/\*/.test(accept)) {
        throw badRequest(
          `Unsupported 'Accept' "${accept}": Tender's operator API speaks JSON only`,
        );
      }
      const release = slots.acquire(clientAddress(c));
      const view = await runtime.read((m) => visibility(security, principal, m));
      const events = await operatorEvents.subscribe(view).catch((e) => {
        release();
        throw e;
      });
      return new Response(StreamSlots.releasing(release, events), {
        status: 200,
        headers: { "Content-Type": "application/json", "Cache-Control": "no-cache" },
      });
    }
    if (CHANGES.has(type)) {
      requireCredentials(c, security, switches.httpReadwrite);
      const call = parseBody(body, MaintenanceCallSchema, "master::Call");
      await runtime.operator((m) => {
        if (call.type === "DRAIN_AGENT") {
          const agentId = call.drain_agent.agent_id.value;
          security.authorize("drain_agents", principal, agentId);
          m.drainAgent(agentId, {
            maxGracePeriodNs: call.drain_agent.max_grace_period?.nanoseconds,
            markGone: call.drain_agent.mark_gone,
          });
        } else if (call.type === "REACTIVATE_AGENT") {
          const agentId = call.reactivate_agent.agent_id.value;
          security.authorize("reactivate_agents", principal, agentId);
          m.reactivateAgent(agentId);
        } else {
          const frameworkId = call.teardown.framework_id.value;
          const framework = m.view.frameworks.get(frameworkId);
          if (!framework) throw badRequest(`No framework found with ID "${frameworkId}"`);
          const owner = framework.info.principal;
          if (!security.allows("teardown_frameworks", principal, owner)) {
            throw new TenderError(
              "forbidden",
              `${
                principal === undefined ? "An unauthenticated caller" : `Principal "${principal}"`
              } is not authorized to teardown_frameworks of ${
                owner === undefined ? "no principal" : `principal "${owner}"`
              }`,
            );
          }
          m.teardownFramework(frameworkId);
        }
      });
      return c.body(null, 200);
    }
    requireCredentials(c, security, switches.httpReadonly);
    const view = await runtime.read((m) =>
      operatorView(m, type, visibility(security, principal, m))
    );
    if (view === undefined) throw badRequest(`Unsupported operator call type "${type}"`);
    return c.json(view);
  });

  legacyRoleRoutes(app, runtime, { security, switches });
  legacyMasterRoutes(app, runtime, { security, switches, self: options.self });
  legacyReservationRoutes(app, runtime, { security, switches });

  // Streamed: the task lists are taken at once, each task written as the client reads.
  const state = async (c: Context) =>
    c.body(
      jsonStream(
        await runtime.read((m) => masterStateStreamed(m, visibility(security, principalOf(c), m))),
      ),
      200,
      { "Content-Type": "application/json" },
    );
  for (const path of ["/master/state", "/master/state.json", "/state", "/state.json"]) {
    app.get(path, state);
  }
  for (const path of ["/health", "/master/health"]) {
    app.get(path, (c) => c.json({ role: "leader", leader: options.self ?? null }));
  }
  // Mesos' /master/redirect: the leader redirects to itself (standbys to it).
  app.get("/master/redirect", (c) => {
    const self = options.self ?? new URL(c.req.url).origin;
    return c.body(null, 307, { Location: self });
  });
  return app;
}

/**
 * What `principal` may see, as Mesos filters its state: frameworks by `view_frameworks` of
 * their user, tasks by `view_tasks` of theirs (the command's user, else the framework's).
 * Filtering does not count as a denial in `/metrics`.
 */
export function visibility(
  security: ServerSecurity,
  principal: string | undefined,
  ctx: MasterView,
): Visibility {
  return {
    framework: (f) => security.acls.allows("view_frameworks", principal, f.info.user),
    task: (t) =>
      security.acls.allows(
        "view_tasks",
        principal,
        t.info.command?.user ?? ctx.frameworks.get(t.frameworkId)?.info.user,
      ),
  };
}

async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header("Content-Type") ?? "";
  if (type === "") throw badRequest("Expecting 'Content-Type' to be present");
  if (!type.startsWith("application/json")) {
    throw new TenderError(
      "bad_request",
      `Unsupported 'Content-Type' "${type}": use application/json`,
    );
  }
  return parseJson(await c.req.text());
}

function streamResponse(streamId: string, body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": "application/json",
      "Mesos-Stream-Id": streamId,
      "Cache-Control": "no-cache",
    },
  });
}
