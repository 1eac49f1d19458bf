import assert from "node:assert/strict";
import type { AgentEvent, Offer, Operation, Resource, TaskInfo } from "../../protocol/mod.ts";
import { FakeClock, SequentialIds, TenderError } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { parseAcls, ServerSecurity } from "../../security/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "./context.ts";
import type { Change, Outgoing } from "./context.ts";
import { Master } from "./master.ts";
import type { AgentRecord, FrameworkRecord } from "./records.ts";

/** A master core with a fake clock; frameworks subscribe by role, agents by `--resources`. */
function harness(acls?: object) {
  const clock = new FakeClock();
  const authorizer = acls
    ? new ServerSecurity({ acls: parseAcls(JSON.stringify(acls)) })
    : undefined;
  const master = new Master({ clock, ids: new SequentialIds(), authorizer }, {
    ...DEFAULT_MASTER_OPTIONS,
  });
  const store = new Map<string, AgentRecord | FrameworkRecord>();
  const sent: Outgoing[] = [];
  const flush = () => {
    const { changes, outbox } = master.drain();
    for (const c of changes) keep(store, c);
    sent.push(...outbox);
  };
  const subscribe = (role: string, principal?: string, stream = `fs-${role}`) => {
    const id = master.subscribeFramework({
      type: "SUBSCRIBE",
      subscribe: {
        framework_info: {
          user: "u",
          name: role,
          roles: [role],
          capabilities: [{ type: "MULTI_ROLE" }],
          ...(principal ? { principal } : {}),
        },
      },
    }, stream);
    flush();
    return { id, stream };
  };
  const addAgent = (resources: string) => {
    const id = master.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname: "h1",
          port: 5051,
          resources: Resources.parse(resources).toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    }, "as1");
    flush();
    return id;
  };
  const offers = (frameworkId: string): Offer[] =>
    sent.flatMap((o) =>
      o.to === "framework" && o.frameworkId === frameworkId && o.event.type === "OFFERS"
        ? o.event.offers.offers
        : []
    );
  const toAgent = (id: string): AgentEvent[] =>
    sent.flatMap((o) => o.to === "agent" && o.agentId === id ? [o.event] : []);
  const allocate = () => {
    master.allocatePending();
    flush();
  };
  const accept = (fw: { id: string; stream: string }, offer: Offer, operations: Operation[]) => {
    master.schedulerCall({
      type: "ACCEPT",
      framework_id: { value: fw.id },
      accept: { offer_ids: [offer.id], operations, filters: { refuse_seconds: 0 } },
    }, fw.stream);
    flush();
  };
  return {
    clock,
    master,
    store,
    sent,
    flush,
    subscribe,
    addAgent,
    offers,
    toAgent,
    allocate,
    accept,
  };
}

function keep(store: Map<string, AgentRecord | FrameworkRecord>, c: Change) {
  if (c.kind !== "agent" && c.kind !== "framework") return;
  if (c.value === null) store.delete(`${c.kind}/${c.id}`);
  else store.set(`${c.kind}/${c.id}`, c.value);
}

const reserved = (text: string, role: string, principal?: string): Resource[] =>
  Resources.parse(text).toMesos().map((r) => ({
    ...r,
    role,
    reservations: [{ type: "DYNAMIC", role, ...(principal ? { principal } : {}) }],
  }));

const volume = (size: number, role: string, id: string, principal?: string): Resource => ({
  name: "disk",
  type: "SCALAR",
  scalar: { value: size },
  reservations: [{ type: "DYNAMIC", role, ...(principal ? { principal } : {}) }],
  disk: {
    persistence: { id, ...(principal ? { principal } : {}) },
    volume: { container_path: "data", mode: "RW" },
  },
});

function task(id: string, agentId: string, resources: Resource[]): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources,
    command: { value: "true" },
  };
}

function badRequest(fn: () => void, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TenderError);
    assert.equal(e.status, 400, e.message);
    assert.match(e.message, message);
    return true;
  });
}

const total = (h: ReturnType<typeof harness>, agentId: string) =>
  Resources.fromMesos((h.store.get(`agent/${agentId}`) as AgentRecord).info.resources);

Deno.test("static reservations from --resources are offered only to their role", () => {
  const h = harness();
  const web = h.subscribe("web");
  const ads = h.subscribe("ads");
  h.addAgent("cpus:2;mem:1024;cpus(ads):1;mem(ads):256");
  h.allocate();
  const toWeb = h.offers(web.id).map((o) => Resources.fromMesos(o.resources));
  const toAds = h.offers(ads.id).map((o) => Resources.fromMesos(o.resources));
  assert.ok(toWeb.every((r) => r.reserved().isEmpty()), "web never sees ads' reservation");
  const adsTotal = toAds.reduce((a, b) => a.add(b), Resources.empty());
  assert.equal(adsTotal.reserved("ads").scalar("cpus"), 1);
  assert.equal(adsTotal.reserved("ads").scalar("mem"), 256);
  const wire = h.offers(ads.id).flatMap((o) => o.resources).find((r) => r.role === "ads");
  assert.deepEqual(wire?.reservations, [{ type: "STATIC", role: "ads" }]);
});

Deno.test("ACCEPT RESERVE + CREATE + LAUNCH: applied in order, persisted and sent to the agent", () => {
  const h = harness();
  const ads = h.subscribe("ads", "ops");
  const agent = h.addAgent("cpus:4;mem:1024;disk:1000");
  h.allocate();
  const offer = h.offers(ads.id)[0]!;
  h.accept(ads, offer, [
    { type: "RESERVE", reserve: { resources: reserved("cpus:1;mem:128;disk:100", "ads", "ops") } },
    { type: "CREATE", create: { volumes: [volume(100, "ads", "v1", "ops")] } },
    {
      type: "LAUNCH",
      launch: {
        task_infos: [
          task("t1", agent, [
            ...reserved("cpus:1;mem:128", "ads", "ops"),
            volume(100, "ads", "v1", "ops"),
          ]),
        ],
      },
    },
  ]);
  const events = h.toAgent(agent).map((e) => e.type);
  assert.ok(
    events.indexOf("CHECKPOINT_RESOURCES") < events.indexOf("LAUNCH"),
    `the agent learns the volume before the task: ${events}`,
  );
  const checkpoint = h.toAgent(agent).find((e) => e.type === "CHECKPOINT_RESOURCES");
  const checkpointed = checkpoint?.type === "CHECKPOINT_RESOURCES"
    ? Resources.fromMesos(checkpoint.checkpoint_resources.resources)
    : Resources.empty();
  assert.deepEqual(checkpointed.persistentVolumes().map((v) => [v.role, v.id]), [["ads", "v1"]]);
  assert.equal(checkpointed.scalar("cpus"), 1);
  const stored = total(h, agent);
  assert.equal(stored.reserved("ads").scalar("cpus"), 1);
  assert.equal(stored.unreserved().scalar("cpus"), 3);
  assert.equal(stored.unreserved().scalar("disk"), 900);
  assert.equal(stored.persistentVolumes()[0]?.id, "v1");
  // The unused rest comes back at once, still unreserved.
  h.allocate();
  const again = Resources.fromMesos(h.offers(ads.id)[1]!.resources);
  assert.equal(again.unreserved().scalar("cpus"), 3);
  assert.ok(again.reserved().isEmpty(), "the reservation is in use by the task");
});

Deno.test("ACCEPT refuses bad reservation operations with 400 and changes nothing", () => {
  const h = harness();
  const ads = h.subscribe("ads", "ops");
  const agent = h.addAgent("cpus:4;mem:1024;disk:1000;cpus(ads):1");
  h.allocate();
  const offer = h.offers(ads.id)[0]!;
  const refuse = (operations: Operation[], message: RegExp) =>
    badRequest(() => h.accept(ads, offer, operations), message);
  refuse(
    [{ type: "RESERVE", reserve: { resources: reserved("cpus:1", "web", "ops") } }],
    /role "web" but the offer is for role "ads"/,
  );
  refuse(
    [{ type: "RESERVE", reserve: { resources: reserved("cpus:1", "ads", "eve") } }],
    /principal "eve" is not the requester's \("ops"\)/,
  );
  refuse(
    [{ type: "RESERVE", reserve: { resources: reserved("cpus:5", "ads", "ops") } }],
    /needs cpus:5 but only/,
  );
  refuse(
    [{ type: "UNRESERVE", unreserve: { resources: Resources.parse("cpus(ads):1").toMesos() } }],
    /statically reserved resources cannot be unreserved/,
  );
  refuse(
    [{ type: "CREATE", create: { volumes: [volume(100, "ads", "v1", "ops")] } }],
    /needs disk\(ads\):100 but only/,
  );
  refuse(
    [
      { type: "RESERVE", reserve: { resources: reserved("disk:200", "ads", "ops") } },
      { type: "CREATE", create: { volumes: [volume(100, "ads", "v1", "ops")] } },
      { type: "CREATE", create: { volumes: [volume(100, "ads", "v1", "ops")] } },
    ],
    /persistence id "v1" is already used/,
  );
  refuse(
    [{ type: "RESERVE", reserve: { resources: reserved("cpus:1", "ads", "ops") } }, {
      type: "UNRESERVE",
      unreserve: { resources: [volume(1, "ads", "v9", "ops")] },
    }],
    /volume "v9"; DESTROY it first/,
  );
  assert.ok(h.toAgent(agent).every((e) => e.type !== "CHECKPOINT_RESOURCES"));
  assert.ok(total(h, agent).reserved("ads").equals(Resources.parse("cpus(ads):1")));
  // The offer is still valid: a good call goes through.
  h.accept(ads, offer, [{
    type: "RESERVE",
    reserve: { resources: reserved("cpus:1", "ads", "ops") },
  }]);
  assert.equal(total(h, agent).reserved("ads").scalar("cpus"), 2);
});

Deno.test("DESTROY of a volume in use is refused; once the task ends, DESTROY + UNRESERVE free it", () => {
  const h = harness();
  const ads = h.subscribe("ads", "ops");
  const agent = h.addAgent("cpus:4;mem:1024;disk:1000");
  h.allocate();
  const res = [...reserved("cpus:1;mem:128", "ads", "ops"), volume(100, "ads", "v1", "ops")];
  h.accept(ads, h.offers(ads.id)[0]!, [
    { type: "RESERVE", reserve: { resources: reserved("cpus:1;mem:128;disk:100", "ads", "ops") } },
    { type: "CREATE", create: { volumes: [volume(100, "ads", "v1", "ops")] } },
    { type: "LAUNCH", launch: { task_infos: [task("t1", agent, res)] } },
  ]);
  h.allocate();
  const rest = h.offers(ads.id).at(-1)!;
  badRequest(
    () =>
      h.master.operateOnAgent(agent, {
        ops: [{
          type: "DESTROY",
          resources: Resources.fromMesos([volume(100, "ads", "v1", "ops")]),
        }],
        principal: "ops",
      }),
    /in use by task "t1"/,
  );
  badRequest(
    () =>
      h.accept(ads, rest, [{
        type: "DESTROY",
        destroy: { volumes: [volume(100, "ads", "v1", "ops")] },
      }]),
    /in use by task "t1"/,
  );
  h.master.agentCall({
    type: "UPDATE",
    agent_id: { value: agent },
    update: {
      framework_id: { value: ads.id },
      status: { task_id: { value: "t1" }, state: "TASK_FINISHED" },
    },
  });
  h.flush();
  h.clock.advance(6_000);
  h.master.tick({ batch: true });
  h.flush();
  // The reserved resources and the volume come back to ads alone, whole.
  const back = h.offers(ads.id).map((o) => Resources.fromMesos(o.resources)).reduce((a, b) =>
    a.add(b)
  );
  assert.equal(back.persistentVolumes().length, 1);
  const latest = h.offers(ads.id).find((o) =>
    Resources.fromMesos(o.resources).persistentVolumes().length > 0
  )!;
  h.accept(ads, latest, [
    { type: "DESTROY", destroy: { volumes: [volume(100, "ads", "v1", "ops")] } },
    {
      type: "UNRESERVE",
      unreserve: { resources: reserved("cpus:1;mem:128;disk:100", "ads", "ops") },
    },
  ]);
  const after = total(h, agent);
  assert.ok(after.reserved().isEmpty());
  assert.ok(after.equals(Resources.parse("cpus:4;mem:1024;disk:1000")));
  const last = h.toAgent(agent).filter((e) => e.type === "CHECKPOINT_RESOURCES").at(-1);
  assert.deepEqual(
    last?.type === "CHECKPOINT_RESOURCES" && last.checkpoint_resources.resources,
    [],
  );
});

Deno.test("operator RESERVE_RESOURCES takes free resources, rescinds offers, 409 when in use", () => {
  const h = harness();
  const ads = h.subscribe("ads");
  const web = h.subscribe("web");
  const agent = h.addAgent("cpus:4;mem:1024");
  h.allocate();
  assert.equal(h.offers(ads.id).length + h.offers(web.id).length, 1);
  const op = (text: string) => ({
    type: "RESERVE" as const,
    resources: Resources.fromMesos(reserved(text, "ads", "admin")),
  });
  h.master.operateOnAgent(agent, { ops: [op("cpus:2;mem:512")], principal: "admin" });
  h.flush();
  assert.ok(
    h.sent.some((o) => o.to === "framework" && o.event.type === "RESCIND"),
    "the outstanding offer is rescinded",
  );
  assert.equal(total(h, agent).reserved("ads").scalar("cpus"), 2);
  h.allocate();
  for (const o of h.offers(web.id)) {
    assert.ok(Resources.fromMesos(o.resources).reserved().isEmpty(), "web never gets ads' cpus");
  }
  assert.throws(
    () => h.master.operateOnAgent(agent, { ops: [op("cpus:3")], principal: "admin" }),
    (e: unknown) => e instanceof TenderError && e.status === 409,
  );
  assert.throws(
    () => h.master.operateOnAgent("nope", { ops: [op("cpus:1")], principal: "admin" }),
    (e: unknown) => e instanceof TenderError && e.status === 404,
  );
});

Deno.test("the reserve_resources ACL refuses with 403 naming it", () => {
  const h = harness({
    permissive: true,
    reserve_resources: [{ principals: { values: ["ops"] }, roles: { values: ["ads"] } }, {
      principals: { type: "ANY" },
      roles: { type: "NONE" },
    }],
  });
  const agent = h.addAgent("cpus:4;mem:1024");
  const op = (role: string, principal: string) => ({
    type: "RESERVE" as const,
    resources: Resources.fromMesos(reserved("cpus:1", role, principal)),
  });
  assert.throws(
    () => h.master.operateOnAgent(agent, { ops: [op("ads", "eve")], principal: "eve" }),
    (e: unknown) =>
      e instanceof TenderError && e.status === 403 && /reserve_resources/.test(e.message),
  );
  h.master.operateOnAgent(agent, { ops: [op("ads", "ops")], principal: "ops" });
  h.flush();
  assert.equal(total(h, agent).reserved("ads").scalar("cpus"), 1);
});

Deno.test("reservations survive a master restart and count toward their role's DRF share", () => {
  const h = harness();
  const agent = h.addAgent("cpus:4;mem:1024;disk:1000");
  h.master.operateOnAgent(agent, {
    ops: [{ type: "RESERVE", resources: Resources.fromMesos(reserved("cpus:2;mem:512", "ads")) }],
    principal: undefined,
  });
  h.flush();
  const ads = h.subscribe("ads");
  h.subscribe("web");
  assert.equal(h.master.ctx.allocator.shares().roles["ads"], 0.5, "2 of 4 cpus reserved for ads");
  const records = [...h.store.values()];
  const next = new Master({ clock: h.clock, ids: new SequentialIds() }, DEFAULT_MASTER_OPTIONS);
  next.recover({
    agents: records.filter((r): r is AgentRecord => "info" in r && "port" in r.info),
    frameworks: records.filter((r): r is FrameworkRecord => "roles" in r),
    tasks: [],
    removedFrameworks: [],
  });
  const recovered = next.ctx.allocator.totalOf(agent)!;
  assert.equal(recovered.reserved("ads").scalar("cpus"), 2);
  assert.equal(next.ctx.allocator.shares().roles["ads"], 0.5);
  assert.ok(ads.id !== undefined);
});

Deno.test("operator reservations may not take a role past its quota limit (409); bad role names are 400", () => {
  const h = harness();
  const agent = h.addAgent("cpus:4;mem:1024");
  h.master.updateQuota({
    force: true,
    configs: [{ role: "ads", guarantees: {}, limits: { cpus: 1.5 } }],
  });
  h.flush();
  const op = (text: string, role = "ads") => ({
    type: "RESERVE" as const,
    resources: Resources.fromMesos(reserved(text, role)),
  });
  h.master.operateOnAgent(agent, { ops: [op("cpus:1")], principal: undefined });
  h.flush();
  assert.throws(
    () => h.master.operateOnAgent(agent, { ops: [op("cpus:1")], principal: undefined }),
    (e: unknown) =>
      e instanceof TenderError && e.status === 409 && /past its quota limit of 1.5/.test(e.message),
  );
  h.master.operateOnAgent(agent, { ops: [op("cpus:0.5;mem:512")], principal: undefined });
  h.flush();
  assert.equal(total(h, agent).reserved("ads").scalar("cpus"), 1.5);
  badRequest(
    () => h.master.operateOnAgent(agent, { ops: [op("cpus:1", "a/../b")], principal: undefined }),
    /invalid role "a\/..\/b"/,
  );
});

Deno.test("an agent that missed a CHECKPOINT_RESOURCES gets the master's reservations back when it re-registers", () => {
  const h = harness();
  const agent = h.addAgent("cpus:4;mem:1024;disk:1000");
  h.master.operateOnAgent(agent, {
    ops: [
      { type: "RESERVE", resources: Resources.fromMesos(reserved("cpus:2;disk:100", "ads")) },
      { type: "CREATE", resources: Resources.fromMesos([volume(100, "ads", "v1")]) },
    ],
    principal: undefined,
  });
  h.flush();
  const resubscribe = (resources: Resource[], stream: string) => {
    h.master.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: { id: { value: agent }, hostname: "h1", port: 5051, resources, attributes: [] },
        tasks: [],
      },
    }, stream);
    h.flush();
  };
  // The connection dropped as the checkpoint was sent: the agent comes back with its old total.
  const before = h.sent.length;
  resubscribe(Resources.parse("cpus:4;mem:1024;disk:1000").toMesos(), "as2");
  const stored = total(h, agent);
  assert.equal(stored.reserved("ads").scalar("cpus"), 2, "the acknowledged reservation is kept");
  assert.equal(stored.unreserved().scalar("cpus"), 2);
  assert.deepEqual(stored.persistentVolumes().map((v) => v.id), ["v1"]);
  assert.equal(h.master.ctx.allocator.totalOf(agent)!.reserved("ads").scalar("cpus"), 2);
  const resent = h.sent.slice(before).flatMap((o) =>
    o.to === "agent" && o.event.type === "CHECKPOINT_RESOURCES" ? [o.event] : []
  );
  assert.equal(resent.length, 1, "the agent is told the master's checkpointed resources");
  const told = Resources.fromMesos(resent[0]!.checkpoint_resources.resources);
  assert.equal(told.scalar("cpus"), 2);
  assert.deepEqual(told.persistentVolumes().map((v) => v.id), ["v1"]);
  // An agent that agrees is not told again.
  const agreed = h.sent.length;
  resubscribe(stored.toMesos(), "as3");
  assert.ok(
    !h.sent.slice(agreed).some((o) => o.to === "agent" && o.event.type === "CHECKPOINT_RESOURCES"),
  );
});
