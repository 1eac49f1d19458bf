/**
 * Wire fidelity with existing Mesos clients: calls shaped as scheduler libraries and agents
 * really send them — `null` for every unset field, numeric strings, keys Tender does not know —
 * are read as Mesos reads them, on the scheduler, agent and operator APIs.
 */
import assert from "node:assert/strict";
import {
  type AgentEvent,
  AgentEventSchema,
  decodeRecords,
  type Event,
  EventSchema,
  fromMesosJson,
} from "../../protocol/mod.ts";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { MasterRuntime } from "../runtime.ts";
import { MasterStore } from "../store/master_store.ts";
import { masterApp } from "./app.ts";

const CONN = { remoteAddr: { hostname: "127.0.0.1", port: 40000, transport: "tcp" } };

type App = ReturnType<typeof masterApp>;

function post(app: App, path: string, body: unknown, streamId?: string): Promise<Response> {
  return Promise.resolve(app.request(path, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(streamId ? { "Mesos-Stream-Id": streamId } : {}),
    },
    body: JSON.stringify(body),
  }, CONN));
}

/** Reads a RecordIO stream's events; `next(type)` waits for the next one of that type. */
function events<T extends { type: string }>(res: Response, parse: (json: unknown) => T) {
  const records = decodeRecords(res.body!);
  return {
    /** Fails after 10 s rather than hanging when the event never comes. */
    async next(type: T["type"]): Promise<T> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${type} event within 10 s`)), 10_000);
      });
      try {
        for (;;) {
          const { value, done } = await Promise.race([records.next(), late]);
          if (done) throw new Error(`stream ended before a ${type} event`);
          const event = parse(JSON.parse(value));
          if (event.type === type) return event;
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => records.return(undefined),
  };
}

/** The null-laden, string-numbered shape of an unset-everything TaskInfo. */
function taskInfo(id: string, agentId: string) {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: [
      {
        name: "cpus",
        type: "SCALAR",
        scalar: { value: "0.5" },
        ranges: null,
        set: null,
        role: null,
        reservation: null,
        disk: null,
        allocation_info: null,
      },
      { name: "mem", type: "SCALAR", scalar: { value: 64 }, role: null },
    ],
    executor: null,
    command: {
      value: "sleep 100",
      uris: null,
      environment: { variables: null },
      shell: null,
      arguments: null,
      user: null,
    },
    container: null,
    health_check: null,
    check: null,
    kill_policy: { grace_period: { nanoseconds: "3000000000" } },
    data: null,
    labels: { labels: [{ key: "k", value: null }] },
    discovery: null,
    max_completion_time: null,
  };
}

Deno.test("Mesos-shaped calls with null for unset fields, numeric strings and unknown keys are read as Mesos reads them", async (t) => {
  const kv = await DenoKvStore.open(":memory:");
  const runtime = await MasterRuntime.start(
    { store: new MasterStore(kv), clock: new FakeClock(), ids: new SequentialIds() },
    { ...DEFAULT_MASTER_OPTIONS, drainMs: 0 },
  );
  const app = masterApp(runtime);
  const opened: { close(): unknown }[] = [];
  try {
    const agentRes = await post(app, "/api/v1/agent", {
      type: "SUBSCRIBE",
      agent_id: null,
      subscribe: {
        agent_info: {
          id: null,
          hostname: "h1",
          port: "5051",
          resources: [
            { name: "cpus", type: "SCALAR", scalar: { value: "4" }, role: null },
            { name: "mem", type: "SCALAR", scalar: { value: 4096 }, role: null },
          ],
          attributes: null,
          domain: null,
        },
        tasks: null,
        cluster_id: null,
        advertise_ip: null,
      },
    });
    assert.equal(agentRes.status, 200);
    const agentEvents = events<AgentEvent>(
      agentRes,
      (j) => AgentEventSchema.parse(fromMesosJson(AgentEventSchema, j)),
    );
    opened.push(agentEvents);
    const agentSubscribed = await agentEvents.next("SUBSCRIBED");
    const agentId = agentSubscribed.type === "SUBSCRIBED"
      ? agentSubscribed.subscribed.agent_id.value
      : "";

    let frameworkId = "";
    let streamId = "";
    let scheduler: ReturnType<typeof events<Event>> | undefined;
    await t.step(
      'SUBSCRIBE with "framework_id": null, as scheduler libraries send it first',
      async () => {
        const res = await post(app, "/api/v1/scheduler", {
          type: "SUBSCRIBE",
          framework_id: null,
          subscribe: {
            framework_info: {
              user: "root",
              name: "recorded",
              id: null,
              failover_timeout: "3600",
              checkpoint: null,
              role: null,
              roles: null,
              hostname: null,
              principal: null,
              webui_url: null,
              capabilities: [{ type: "PARTITION_AWARE" }],
              labels: null,
              offer_filters: null,
            },
            suppressed_roles: null,
            offer_constraints: null,
          },
          a_field_tender_does_not_know: { nested: true },
        });
        assert.equal(res.status, 200);
        streamId = res.headers.get("Mesos-Stream-Id")!;
        scheduler = events<Event>(res, (j) => EventSchema.parse(j));
        opened.push(scheduler);
        const subscribed = await scheduler.next("SUBSCRIBED");
        frameworkId = subscribed.type === "SUBSCRIBED"
          ? subscribed.subscribed.framework_id.value
          : "";
        assert.ok(frameworkId);
      },
    );

    const offer = await scheduler!.next("OFFERS");
    const first = offer.type === "OFFERS" ? offer.offers.offers[0]! : undefined;
    await t.step("offers carry the agent's url (scheme, address.ip/hostname, port)", () => {
      assert.equal(first?.url?.scheme, "http");
      assert.equal(first?.url?.address.hostname, "h1");
      assert.equal(first?.url?.address.ip, "127.0.0.1");
      assert.equal(first?.url?.address.port, 5051);
    });

    const call = (body: Record<string, unknown>) =>
      post(app, "/api/v1/scheduler", { framework_id: { value: frameworkId }, ...body }, streamId);

    await t.step(
      "ACCEPT with nulls in every optional position of the operation and task",
      async () => {
        const res = await call({
          type: "ACCEPT",
          accept: {
            offer_ids: [first!.id],
            operations: [{
              type: "LAUNCH",
              id: null,
              launch: { task_infos: [taskInfo("t1", agentId)] },
              launch_group: null,
              reserve: null,
            }],
            filters: { refuse_seconds: "5" },
          },
        });
        assert.equal(res.status, 202, await res.text());
        const launch = await agentEvents.next("LAUNCH");
        assert.equal(launch.type === "LAUNCH" && launch.launch.task.task_id.value, "t1");
        assert.equal(
          launch.type === "LAUNCH" && launch.launch.task.kill_policy?.grace_period?.nanoseconds,
          3e9,
          "a numeric string is the number",
        );
      },
    );

    await t.step("agent UPDATE with unset status fields as null", async () => {
      const res = await post(app, "/api/v1/agent", {
        type: "UPDATE",
        agent_id: { value: agentId },
        update: {
          framework_id: { value: frameworkId },
          status: {
            task_id: { value: "t1" },
            state: "TASK_RUNNING",
            message: null,
            source: "SOURCE_EXECUTOR",
            reason: null,
            data: null,
            agent_id: null,
            executor_id: null,
            timestamp: "1700000000.5",
            uuid: null,
            healthy: null,
            labels: null,
            container_status: null,
          },
        },
      });
      assert.equal(res.status, 202, await res.text());
      const update = await scheduler!.next("UPDATE");
      assert.equal(update.type === "UPDATE" && update.update.status.state, "TASK_RUNNING");
    });

    await t.step(
      'RECONCILE with "tasks": null is implicit; REVIVE with a null payload',
      async () => {
        const reconcile = await call({ type: "RECONCILE", reconcile: { tasks: null } });
        assert.equal(reconcile.status, 202, await reconcile.text());
        const answer = await scheduler!.next("UPDATE");
        assert.equal(answer.type === "UPDATE" && answer.update.status.task_id.value, "t1");
        const revive = await call({ type: "REVIVE", revive: null });
        assert.equal(revive.status, 202, await revive.text());
      },
    );

    await t.step("KILL with agent_id and kill_policy null", async () => {
      const res = await call({
        type: "KILL",
        kill: { task_id: { value: "t1" }, agent_id: null, kill_policy: null },
      });
      assert.equal(res.status, 202, await res.text());
      const kill = await agentEvents.next("KILL");
      assert.equal(kill.type === "KILL" && kill.kill.task_id.value, "t1");
    });

    await t.step("operator DRAIN_AGENT with max_grace_period null", async () => {
      const res = await post(app, "/api/v1", {
        type: "DRAIN_AGENT",
        drain_agent: { agent_id: { value: agentId }, max_grace_period: null, mark_gone: null },
      });
      assert.equal(res.status, 200, await res.text());
    });

    await t.step(
      "still refused as Mesos refuses: text for a number, a number for an enum, a required field null",
      async () => {
        const notNumber = await call({
          type: "DECLINE",
          decline: { offer_ids: [{ value: "x" }], filters: { refuse_seconds: "soon" } },
        });
        assert.equal(notNumber.status, 400);
        assert.match(await notNumber.text(), /'decline\.filters\.refuse_seconds'/);
        const state = await post(app, "/api/v1/agent", {
          type: "UPDATE",
          agent_id: { value: agentId },
          update: {
            framework_id: { value: frameworkId },
            status: { task_id: { value: "t1" }, state: 3 },
          },
        });
        assert.equal(state.status, 400);
        assert.match(await state.text(), /'update\.status\.state'/);
        const required = await post(app, "/api/v1/scheduler", {
          type: "SUBSCRIBE",
          subscribe: { framework_info: null },
        });
        assert.equal(required.status, 400);
        assert.match(await required.text(), /'subscribe\.framework_info': Required/);
      },
    );
  } finally {
    for (const o of opened) await o.close();
    await runtime.stop();
    kv.close();
  }
});
