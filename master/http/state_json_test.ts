import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../core/context.ts";
import { Master } from "../core/master.ts";
import { masterState, operatorView } from "./state_json.ts";

/** A master with two agents, one framework, one task of cpus:1;mem:128 on the first agent and
 * the second agent's resources outstanding in an offer. */
function busyMaster() {
  const master = new Master({ clock: new FakeClock(), ids: new SequentialIds() }, {
    ...DEFAULT_MASTER_OPTIONS,
  });
  const frameworkId = master.subscribeFramework({
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "books" } },
  }, "fs1");
  const agentIds = ["h1", "h2"].map((hostname, i) =>
    master.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname,
          port: 5051,
          resources: Resources.parse("cpus:4;mem:1024").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    }, `as${i}`)
  );
  master.allocatePending();
  const offers = master.drain().outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  );
  const first = offers.find((o) => o.agent_id.value === agentIds[0])!;
  master.schedulerCall({
    type: "ACCEPT",
    framework_id: { value: frameworkId },
    accept: {
      offer_ids: [first.id],
      operations: [{
        type: "LAUNCH",
        launch: {
          task_infos: [{
            name: "t1",
            task_id: { value: "t1" },
            agent_id: { value: agentIds[0]! },
            resources: Resources.parse("cpus:1;mem:128").toMesos(),
            command: { value: "sleep 10" },
          }],
        },
      }],
      filters: { refuse_seconds: 60 },
    },
  }, "fs1");
  master.drain();
  return { master, frameworkId, agentIds };
}

/** cpus and mem of a flat resource map (Mesos lists disk and gpus too). */
function cpusMem(flat: Record<string, unknown>): { cpus: unknown; mem: unknown } {
  return { cpus: flat.cpus ?? 0, mem: flat.mem ?? 0 };
}

Deno.test("masterState() sums used and offered resources per agent and per framework", () => {
  const { master, frameworkId, agentIds } = busyMaster();
  const state = masterState(master.ctx);
  const agent = (id: string) => state.slaves.find((a) => a.id === id)!;
  assert.deepEqual(cpusMem(agent(agentIds[0]!).used_resources), { cpus: 1, mem: 128 });
  assert.deepEqual(cpusMem(agent(agentIds[0]!).offered_resources), { cpus: 0, mem: 0 });
  assert.deepEqual(cpusMem(agent(agentIds[1]!).used_resources), { cpus: 0, mem: 0 });
  assert.deepEqual(cpusMem(agent(agentIds[1]!).offered_resources), { cpus: 4, mem: 1024 });
  const framework = state.frameworks.find((f) => f.id === frameworkId)!;
  assert.deepEqual(cpusMem(framework.used_resources), { cpus: 1, mem: 128 });
  assert.deepEqual(cpusMem(framework.offered_resources), { cpus: 4, mem: 1024 });
  assert.deepEqual(cpusMem(framework.resources), { cpus: 5, mem: 1152 });
});

Deno.test("operatorView(GET_AGENTS) gives each agent its allocated and offered resources", () => {
  const { master } = busyMaster();
  const view = operatorView(master.ctx, "GET_AGENTS") as {
    get_agents: {
      agents: {
        agent_info: { id?: { value: string }; hostname: string };
        allocated_resources: unknown;
        offered_resources: unknown;
      }[];
    };
  };
  const byHost = new Map(view.get_agents.agents.map((a) => [a.agent_info.hostname, a]));
  const asFlat = (r: unknown) => cpusMem(Resources.fromMesos(r as never).toFlat());
  assert.deepEqual(asFlat(byHost.get("h1")!.allocated_resources), { cpus: 1, mem: 128 });
  assert.deepEqual(asFlat(byHost.get("h2")!.offered_resources), { cpus: 4, mem: 1024 });
});

Deno.test("masterState() keeps a torn-down framework in completed_frameworks, with its tasks", () => {
  const { master, frameworkId } = busyMaster();
  master.schedulerCall({ type: "TEARDOWN", framework_id: { value: frameworkId } }, "fs1");
  master.drain();
  const state = masterState(master.ctx);
  assert.deepEqual(state.frameworks, []);
  const [gone] = state.completed_frameworks;
  assert.equal(gone?.id, frameworkId);
  assert.equal(gone?.active, false);
  assert.deepEqual(gone?.tasks, []);
  assert.deepEqual(gone?.completed_tasks.map((t) => t.id), ["t1"]);
  assert.deepEqual(cpusMem(gone!.used_resources), { cpus: 0, mem: 0 });
  const view = operatorView(master.ctx, "GET_FRAMEWORKS") as {
    get_frameworks: { completed_frameworks: { framework_info: { name: string } }[] };
  };
  assert.deepEqual(view.get_frameworks.completed_frameworks.map((f) => f.framework_info.name), [
    "books",
  ]);
});

Deno.test("masterState() and offers name an agent by the address it advertises, else the one it connected from", () => {
  const master = new Master({ clock: new FakeClock(), ids: new SequentialIds() }, {
    ...DEFAULT_MASTER_OPTIONS,
  });
  master.subscribeFramework({
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "f" } },
  }, "fs1");
  const subscribe = (hostname: string, streamId: string, remote: string, advertised?: string) =>
    master.subscribeAgent(
      {
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: {
            hostname,
            port: 5051,
            resources: Resources.parse("cpus:1;mem:128").toMesos(),
            attributes: [],
          },
          tasks: [],
          ...(advertised ? { advertise_ip: advertised } : {}),
        },
      },
      streamId,
      remote,
    );
  const natted = subscribe("n1", "as1", "192.168.0.9", "203.0.113.5");
  const plain = subscribe("n2", "as2", "10.0.0.2");
  master.allocatePending();
  const offers = master.drain().outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  );
  const urlOf = (agentId: string) => offers.find((o) => o.agent_id.value === agentId)?.url;
  assert.deepEqual(urlOf(natted), {
    scheme: "http",
    address: { hostname: "n1", ip: "203.0.113.5", port: 5051 },
    path: "/slave(1)",
  });
  assert.equal(urlOf(plain)?.address.ip, "10.0.0.2");
  const slaves = masterState(master.ctx).slaves;
  assert.deepEqual(slaves.map((s) => [s.hostname, s.pid]), [
    ["n1", "slave(1)@203.0.113.5:5051"],
    ["n2", "slave(1)@10.0.0.2:5051"],
  ]);
  const view = operatorView(master.ctx, "GET_AGENTS") as {
    get_agents: { agents: { pid: string }[] };
  };
  assert.deepEqual(view.get_agents.agents.map((a) => a.pid), [
    "slave(1)@203.0.113.5:5051",
    "slave(1)@10.0.0.2:5051",
  ]);
});
