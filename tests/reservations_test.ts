/**
 * Reservations and persistent volumes on a real master and agent (issue 19 item 2): a raw
 * scheduler reserves resources and creates a volume in one ACCEPT with a task that writes a
 * file through it; the task ends, a second task on the same volume reads the file; agent and
 * master are restarted (SIGKILL), the reservation and the data are still there; DESTROY +
 * UNRESERVE give the resources back unreserved and remove the volume's directory. Run with the
 * process containerizer and with Docker.
 */
import assert from "node:assert/strict";
import type { Event, Offer, Resource, TaskInfo } from "../protocol/mod.ts";
import { Resources } from "../protocol/mod.ts";
import { Cluster, waitFor } from "./support/cluster.ts";
import { RawScheduler } from "./support/raw_scheduler.ts";
import { ensureTestImage, IMAGE, noDocker, removeContainersOf } from "./docker_helpers.ts";
import {
  CRI_TEST_IMAGE,
  noContainerd,
  startContainerd,
  type TestContainerd,
} from "./support/containerd.ts";

type Kind = "process" | "docker" | "containerd";

const ROLE = "ads";
const PRINCIPAL = "ops";
const reservation = [{ type: "DYNAMIC" as const, role: ROLE, principal: PRINCIPAL }];

const reserved = (name: string, value: number): Resource => ({
  name,
  type: "SCALAR",
  scalar: { value },
  reservations: reservation,
});

const VOLUME: Resource = {
  ...reserved("disk", 100),
  disk: {
    persistence: { id: "v1", principal: PRINCIPAL },
    volume: { container_path: "data", mode: "RW" },
  },
};

/** A task on the reserved cpus and mem and the volume, running `script` with `sh -c`. */
function volumeTask(
  id: string,
  agentId: string,
  script: string,
  containerizer: Kind,
): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: [reserved("cpus", 0.25), reserved("mem", 32), VOLUME],
    command: { value: script },
    ...(containerizer === "process" ? {} : {
      container: {
        type: "DOCKER",
        docker: { image: containerizer === "docker" ? IMAGE : CRI_TEST_IMAGE, network: "HOST" },
      },
    }),
  };
}

async function subscribe(master: string): Promise<RawScheduler> {
  const scheduler = new RawScheduler(master);
  await scheduler.subscribe({
    roles: [ROLE],
    principal: PRINCIPAL,
    capabilities: [{ type: "MULTI_ROLE" }, { type: "RESERVATION_REFINEMENT" }],
  });
  return scheduler;
}

/** Waits for an offer not yet used that `pick` accepts. */
function nextOffer(
  scheduler: RawScheduler,
  used: Set<string>,
  pick: (resources: Resources) => boolean = () => true,
): Promise<Offer> {
  return waitFor("an offer", () => {
    const rescinded = new Set(
      scheduler.events.flatMap((e) => e.type === "RESCIND" ? [e.rescind.offer_id.value] : []),
    );
    return scheduler.offers().find((o) =>
      !used.has(o.id.value) && !rescinded.has(o.id.value) &&
      pick(Resources.fromMesos(o.resources))
    );
  }, 60_000);
}

async function accept(
  scheduler: RawScheduler,
  offer: Offer,
  used: Set<string>,
  operations: unknown[],
): Promise<void> {
  used.add(offer.id.value);
  const r = await scheduler.call({
    type: "ACCEPT",
    framework_id: { value: scheduler.frameworkId },
    accept: { offer_ids: [offer.id], operations, filters: { refuse_seconds: 0 } },
  });
  assert.equal(r.status, 202, r.text);
}

/**
 * Waits for a terminal state of the task, acknowledging updates as they come (an agent sends a
 * task's next update only once the previous one is acknowledged); returns it.
 */
async function ended(scheduler: RawScheduler, taskId: string): Promise<string> {
  const acked = new Set<string>();
  const status = await waitFor(`task "${taskId}" to end`, async () => {
    const updates = scheduler.events.flatMap((e: Event) =>
      e.type === "UPDATE" && e.update.status.task_id.value === taskId ? [e.update.status] : []
    );
    for (const u of updates) {
      if (!u.uuid || acked.has(u.uuid)) continue;
      acked.add(u.uuid);
      await scheduler.call({
        type: "ACKNOWLEDGE",
        framework_id: { value: scheduler.frameworkId },
        acknowledge: { agent_id: u.agent_id!, task_id: u.task_id, uuid: u.uuid },
      });
    }
    return updates.find((s) =>
      ["TASK_FINISHED", "TASK_FAILED", "TASK_ERROR", "TASK_KILLED", "TASK_LOST"].includes(s.state)
    );
  }, 90_000);
  return status.state === "TASK_FINISHED" ? status.state : `${status.state}: ${status.message}`;
}

async function scenario(containerizer: Kind) {
  if (containerizer === "docker") await ensureTestImage();
  const ctd: TestContainerd | undefined = containerizer === "containerd"
    ? await startContainerd()
    : undefined;
  const cluster = await Cluster.start();
  const schedulers: RawScheduler[] = [];
  try {
    const agentArgs = [
      ...(ctd ? ["--containerd-socket", ctd.socket] : []),
      "--containerizer",
      containerizer,
      "--resources",
      `cpus:2;mem:512;disk:1000;cpus(${ROLE}):1;mem(${ROLE}):128`,
    ];
    const agentProcess = await cluster.addAgent(agentArgs);
    const volumeDir = `${cluster.root}/agent-0/volumes/roles/${ROLE}/v1`;
    const slave = (await cluster.state()).slaves[0];
    assert.deepEqual(
      [slave.reserved_resources[ROLE].cpus, slave.reserved_resources[ROLE].mem],
      [1, 128],
      "the static reservation of --resources",
    );
    const agentId: string = slave.id;
    let scheduler = await subscribe(cluster.masterUrl);
    schedulers.push(scheduler);
    const used = new Set<string>();

    const first = await nextOffer(scheduler, used);
    assert.ok(Resources.fromMesos(first.resources).reserved(ROLE).scalar("cpus") >= 1);
    await accept(scheduler, first, used, [
      {
        type: "RESERVE",
        reserve: {
          resources: [reserved("cpus", 0.25), reserved("mem", 32), reserved("disk", 100)],
        },
      },
      { type: "CREATE", create: { volumes: [VOLUME] } },
      {
        type: "LAUNCH",
        launch: {
          task_infos: [
            volumeTask("writer", agentId, 'echo hello > "$MESOS_SANDBOX/data/file"', containerizer),
          ],
        },
      },
    ]);
    assert.equal(await ended(scheduler, "writer"), "TASK_FINISHED");
    assert.equal((await Deno.readTextFile(`${volumeDir}/file`)).trim(), "hello");

    const hasVolume = (r: Resources) => r.persistentVolumes().some((v) => v.id === "v1");
    const second = await nextOffer(scheduler, used, hasVolume);
    await accept(scheduler, second, used, [{
      type: "LAUNCH",
      launch: {
        task_infos: [
          volumeTask("reader", agentId, 'grep -q hello "$MESOS_SANDBOX/data/file"', containerizer),
        ],
      },
    }]);
    assert.equal(await ended(scheduler, "reader"), "TASK_FINISHED");

    // Agent and master die and come back: the reservation, the volume and its data stay.
    await scheduler.close();
    await agentProcess.kill("SIGKILL");
    await cluster.master.kill("SIGKILL");
    cluster.master.start();
    await cluster.waitForMaster();
    agentProcess.start();
    const back = await waitFor("the agent to re-register with its reservations", async () => {
      const s = (await cluster.state()).slaves.find((x: { id: string }) => x.id === agentId);
      return s?.active && s.reserved_resources?.[ROLE]?.cpus === 1.25 ? s : undefined;
    }, 60_000);
    assert.equal(back.reserved_resources[ROLE].disk, 100);
    const full: Resource[] = back.reserved_resources_full[ROLE];
    assert.ok(full.some((r) => r.disk?.persistence?.id === "v1"), JSON.stringify(full));
    assert.equal((await Deno.readTextFile(`${volumeDir}/file`)).trim(), "hello");
    const agentState = await (await fetch(`http://127.0.0.1:${back.port}/state`)).json();
    assert.equal(agentState.reserved_resources[ROLE].cpus, 1.25);

    scheduler = await subscribe(cluster.masterUrl);
    schedulers.push(scheduler);
    const third = await nextOffer(scheduler, used, hasVolume);
    await accept(scheduler, third, used, [{
      type: "LAUNCH",
      launch: {
        task_infos: [
          volumeTask("reader2", agentId, 'grep -q hello "$MESOS_SANDBOX/data/file"', containerizer),
        ],
      },
    }]);
    assert.equal(await ended(scheduler, "reader2"), "TASK_FINISHED");

    // DESTROY + UNRESERVE: the dynamic part is unreserved again, the directory gone.
    const fourth = await nextOffer(scheduler, used, hasVolume);
    await accept(scheduler, fourth, used, [
      { type: "DESTROY", destroy: { volumes: [VOLUME] } },
      {
        type: "UNRESERVE",
        unreserve: {
          resources: [reserved("cpus", 0.25), reserved("mem", 32), reserved("disk", 100)],
        },
      },
    ]);
    const after = await waitFor("the reservation to be released", async () => {
      const s = (await cluster.state()).slaves[0];
      return s.reserved_resources[ROLE]?.cpus === 1 ? s : undefined;
    });
    assert.deepEqual(
      [after.reserved_resources[ROLE].mem, after.reserved_resources[ROLE].disk],
      [128, 0],
      "only the static reservation is left",
    );
    assert.equal(after.unreserved_resources.disk, 1000);
    assert.deepEqual(after.reserved_resources_full[ROLE].filter((r: Resource) => r.disk), []);
    await waitFor(
      "the volume's directory to be removed",
      () => Deno.stat(volumeDir).then(() => false, () => true),
    );
  } catch (e) {
    console.log("AGENT", cluster.agents.flatMap((a) => a.log).join("").slice(-4000));
    console.log("MASTER", cluster.master.log.join("").slice(-3000));
    console.log(
      "EVENTS",
      JSON.stringify(
        schedulers.flatMap((s) =>
          s.events.filter((x) => x.type !== "OFFERS" && x.type !== "HEARTBEAT")
        ),
      ).slice(0, 3000),
    );
    throw e;
  } finally {
    for (const s of schedulers) {
      await s.close();
      if (containerizer === "docker") await removeContainersOf(s.frameworkId);
    }
    await cluster.stop();
    await ctd?.stop();
  }
}

Deno.test({
  name: "reservations and a persistent volume survive task ends and restarts (process)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => scenario("process"),
});

Deno.test({
  name: "reservations and a persistent volume survive task ends and restarts (Docker)",
  ignore: noDocker,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => scenario("docker"),
});

Deno.test({
  name: "reservations and a persistent volume survive task ends and restarts (containerd)",
  ignore: noContainerd,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => scenario("containerd"),
});

Deno.test({
  name:
    "operator RESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES, UNRESERVE_RESOURCES and /master/reserve",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await Cluster.start();
    try {
      await cluster.addAgent([
        "--containerizer",
        "process",
        "--resources",
        "cpus:2;mem:512;disk:1000",
      ]);
      const agentId: string = (await cluster.state()).slaves[0].id;
      const volumeDir = `${cluster.root}/agent-0/volumes/roles/${ROLE}/v1`;
      const call = async (body: unknown) => {
        const r = await fetch(`${cluster.masterUrl}/api/v1`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: r.status, text: await r.text() };
      };
      const agent_id = { value: agentId };
      const slave = async () => (await cluster.state()).slaves[0];

      // Bad input is refused, naming the problem, and changes nothing.
      const bad = await call({
        type: "RESERVE_RESOURCES",
        reserve_resources: {
          agent_id,
          resources: [{ ...reserved("cpus", 1), provider_id: { value: "p" } }],
        },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /provider_id/);
      const tooMuch = await call({
        type: "RESERVE_RESOURCES",
        reserve_resources: { agent_id, resources: [reserved("cpus", 3)] },
      });
      assert.equal(tooMuch.status, 409, tooMuch.text);
      const unknown = await call({
        type: "RESERVE_RESOURCES",
        reserve_resources: { agent_id: { value: "nope" }, resources: [reserved("cpus", 1)] },
      });
      assert.equal(unknown.status, 404, unknown.text);
      assert.deepEqual((await slave()).reserved_resources, {});

      const ok = await call({
        type: "RESERVE_RESOURCES",
        reserve_resources: { agent_id, resources: [reserved("cpus", 1), reserved("disk", 100)] },
      });
      assert.equal(ok.status, 202, ok.text);
      const created = await call({
        type: "CREATE_VOLUMES",
        create_volumes: { agent_id, volumes: [VOLUME] },
      });
      assert.equal(created.status, 202, created.text);
      const twice = await call({
        type: "CREATE_VOLUMES",
        create_volumes: { agent_id, volumes: [VOLUME] },
      });
      assert.equal(twice.status, 400, twice.text);
      assert.match(twice.text, /persistence id "v1" is already used/);
      const s1 = await slave();
      assert.equal(s1.reserved_resources[ROLE].cpus, 1);
      assert.equal(s1.unreserved_resources.cpus, 1);
      await waitFor(
        "the volume's directory",
        () => Deno.stat(volumeDir).then(() => true, () => false),
      );

      // The legacy form endpoint reserves too.
      const form = new URLSearchParams({
        slaveId: agentId,
        resources: JSON.stringify([{
          name: "mem",
          type: "SCALAR",
          scalar: { value: 64 },
          role: ROLE,
          reservation: { principal: PRINCIPAL },
        }]),
      });
      const legacy = await fetch(`${cluster.masterUrl}/master/reserve`, {
        method: "POST",
        body: form,
      });
      assert.equal(legacy.status, 202, await legacy.text());
      assert.equal((await slave()).reserved_resources[ROLE].mem, 64);

      const unreserveVolume = await call({
        type: "UNRESERVE_RESOURCES",
        unreserve_resources: { agent_id, resources: [VOLUME] },
      });
      assert.equal(unreserveVolume.status, 400);
      assert.match(unreserveVolume.text, /DESTROY it first/);
      const destroyed = await call({
        type: "DESTROY_VOLUMES",
        destroy_volumes: { agent_id, volumes: [VOLUME] },
      });
      assert.equal(destroyed.status, 202, destroyed.text);
      const unreserved = await call({
        type: "UNRESERVE_RESOURCES",
        unreserve_resources: {
          agent_id,
          resources: [reserved("cpus", 1), reserved("disk", 100), reserved("mem", 64)],
        },
      });
      assert.equal(unreserved.status, 202, unreserved.text);
      const s2 = await slave();
      assert.deepEqual(s2.reserved_resources, {});
      assert.equal(s2.unreserved_resources.disk, 1000);
      await waitFor(
        "the volume's directory to go",
        () => Deno.stat(volumeDir).then(() => false, () => true),
      );
    } finally {
      await cluster.stop();
    }
  },
});
