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
  asTenderError,
  badRequest,
  CallSchema,
  DurationInfoSchema,
  TenderError,
} from "../../protocol/mod.ts";
import { requestLimits } from "../../protocol/http_limits.ts";
import { parseJson } from "../../protocol/limits.ts";
import type { MasterRuntime } from "../runtime.ts";
import { masterState, operatorView } from "./state_json.ts";

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
]);

/** Builds the hono app over a running master. */
export function masterApp(
  runtime: MasterRuntime,
  options: { middleware?: MiddlewareHandler[]; self?: string } = {},
): Hono {
  const app = new Hono();
  for (const m of options.middleware ?? []) app.use(m);
  app.use(requestLimits());

  app.onError((err, c) => {
    const known = asTenderError(err);
    if (known) return c.text(known.message, known.status as 400);
    console.error(
      JSON.stringify({ level: "error", msg: "unhandled", error: String(err?.stack ?? err) }),
    );
    return c.text(`Internal error: ${err.message}`, 500);
  });

  app.post("/api/v1/scheduler", async (c) => {
    const call = parseBody(await jsonBody(c), CallSchema, "scheduler::Call");
    const streamId = c.req.header("Mesos-Stream-Id") ?? null;
    if (call.type === "SUBSCRIBE") {
      if (streamId !== null) {
        throw badRequest("Subscribe calls should not include the 'Mesos-Stream-Id' header");
      }
      const { streamId: id, body } = await runtime.subscribeFramework(call);
      return streamResponse(id, body);
    }
    await runtime.schedulerCall(call, streamId);
    return c.body(null, 202);
  });

  app.post("/api/v1/agent", async (c) => {
    const call = parseBody(await jsonBody(c), AgentCallSchema, "agent::Call");
    if (call.type === "SUBSCRIBE") {
      const { streamId, body } = await runtime.subscribeAgent(call, getConnInfo(c).remote.address);
      return streamResponse(streamId, body);
    }
    await runtime.agentCall(call);
    return c.body(null, 202);
  });

  app.post("/api/v1", async (c) => {
    const body = await jsonBody(c);
    const type = typeof body === "object" && body !== null && "type" in body
      ? String(body.type)
      : "";
    if (type === "DRAIN_AGENT" || type === "REACTIVATE_AGENT") {
      const call = parseBody(body, MaintenanceCallSchema, "master::Call");
      await runtime.operator((m) =>
        call.type === "DRAIN_AGENT"
          ? m.drainAgent(
            call.drain_agent.agent_id.value,
            call.drain_agent.max_grace_period?.nanoseconds,
          )
          : m.reactivateAgent(call.reactivate_agent.agent_id.value)
      );
      return c.body(null, 200);
    }
    const view = await runtime.read((m) => operatorView(m.ctx, type));
    if (view === undefined) throw badRequest(`Unsupported operator call type "${type}"`);
    return c.json(view);
  });

  const state = async (c: Context) => c.json(await runtime.read((m) => masterState(m.ctx)));
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

function parseBody<T>(body: unknown, schema: z.ZodType<T, z.ZodTypeDef, unknown>, what: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.join(".") || "(body)";
  if (issue.code === "invalid_union_discriminator") {
    const type = typeof body === "object" && body !== null && "type" in body
      ? body.type
      : undefined;
    throw badRequest(
      type === undefined
        ? `Failed to validate ${what}: 'type' is required`
        : `Failed to validate ${what}: unknown call type ${JSON.stringify(type)}`,
    );
  }
  throw badRequest(`Failed to validate ${what}: '${path}': ${issue.message}`);
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
