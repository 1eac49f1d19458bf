import assert from "node:assert/strict";
import {
  type Offer,
  OfferSchema,
  type Resource,
  resourceMeta,
  Resources,
} from "../../../protocol/mod.ts";
import { SequentialIds } from "../../../base/mod.ts";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import type { Instance } from "../model/instance.ts";
import { planLaunches } from "./offer_plan.ts";
import {
  FRAMEWORK_ID_LABEL,
  planResident,
  RESERVATION_ID_LABEL,
  type ResidentPlanInput,
} from "./resident_plan.ts";

function offer(host: string, resources: Resource[], id = `o-${host}`): Offer {
  return OfferSchema.parse({
    id: { value: id },
    framework_id: { value: "fw" },
    agent_id: { value: `a-${host}` },
    hostname: host,
    resources,
    allocation_info: { role: "ads" },
  });
}

const plain = (host: string, res = "cpus:4;mem:4096;disk:1000;ports:[31000-31010]") =>
  offer(host, Resources.parse(res).toMesos("ads"));

function residentApp(raw: Record<string, unknown> = {}): App {
  const a = parseApp({
    id: "/db/pg",
    cmd: "serve",
    cpus: 0.5,
    mem: 64,
    disk: 10,
    container: {
      type: "MESOS",
      volumes: [{ containerPath: "data", mode: "RW", persistent: { size: 100 } }],
    },
    ...raw,
  });
  return { ...a, version: "v1", versionInfo: { lastScalingAt: "v1", lastConfigChangeAt: "v1" } };
}

function plan(input: Partial<ResidentPlanInput> & Pick<ResidentPlanInput, "apps" | "offers">) {
  const ids = new SequentialIds();
  return planResident({
    instances: [],
    frameworkId: "fw",
    role: "ads",
    mayLaunch: () => true,
    uuid: () => ids.uuid(),
    now: 7,
    ...input,
  });
}

Deno.test("planResident() reserves, creates the volume and launches on it in one go", () => {
  const app = residentApp();
  const p = plan({ apps: [app], offers: [plain("n1")] });
  assert.equal(p.launches.length, 1);
  const l = p.launches[0]!;
  assert.deepEqual(l.operations.map((o) => o.type), ["RESERVE", "CREATE"]);
  const reserved = Resources.fromMesos(l.operations[0]!.reserve!.resources);
  assert.equal(reserved.scalar("cpus"), 0.5);
  assert.equal(reserved.scalar("mem"), 64);
  assert.equal(reserved.scalar("disk"), 110, "the sandbox's disk plus the volume's size");
  assert.deepEqual(reserved.ranges("ports"), [{ begin: 31000, end: 31000 }]);
  for (const r of l.operations[0]!.reserve!.resources) {
    const meta = resourceMeta(r);
    assert.equal(meta.reservations.length, 1);
    assert.equal(meta.reservations[0]!.role, "ads");
    assert.equal(meta.reservations[0]!.type, "DYNAMIC");
    assert.deepEqual(meta.reservations[0]!.labels?.labels, [
      { key: FRAMEWORK_ID_LABEL, value: "fw" },
      { key: RESERVATION_ID_LABEL, value: l.instance.instanceId },
    ]);
  }
  const [volume] = l.operations[1]!.create!.volumes;
  assert.equal(volume!.scalar?.value, 100);
  assert.equal(volume!.disk?.volume?.container_path, "data");
  assert.match(volume!.disk!.persistence!.id, /^db_pg#data#[0-9a-f-]+$/);
  // The task runs on the reserved pieces and the volume, never on unreserved ones.
  const task = Resources.fromMesos(l.match.resources);
  assert.ok(task.unreserved().isEmpty());
  assert.equal(task.persistentVolumes()[0]?.id, volume!.disk!.persistence!.id);
  assert.equal(task.scalar("disk"), 110);
  assert.equal(l.instance.reservation?.state, "New");
  assert.deepEqual(l.instance.reservation?.volumes, [
    { containerPath: "data", persistenceId: volume!.disk!.persistence!.id },
  ]);
  assert.equal(l.instance.taskId, `${l.instance.instanceId}._app.1`);
  assert.equal(l.instance.agentId, "a-n1");
});

Deno.test("planResident() relaunches a reserved instance only on its agent's offer with its reservation", () => {
  const app = residentApp();
  const first = plan({ apps: [app], offers: [plain("n1")] }).launches[0]!;
  const waiting: Instance = {
    ...first.instance,
    condition: "Reserved",
    reservation: { ...first.instance.reservation!, state: "Suspended" },
  };
  // n2 offers plenty and comes first; n1 offers the reservation back beside unreserved cpus.
  const back = offer("n1", [
    ...first.match.resources,
    ...Resources.parse("cpus:2;mem:512").toMesos("ads"),
  ]);
  const p = plan({ apps: [app], instances: [waiting], offers: [plain("n2"), back] });
  assert.equal(p.launches.length, 1);
  const l = p.launches[0]!;
  assert.equal(l.offerId, back.id.value);
  assert.deepEqual(l.operations, [], "no new reservation, no new volume");
  assert.equal(l.instance.instanceId, waiting.instanceId);
  assert.equal(l.instance.taskId, `${waiting.instanceId}._app.2`);
  assert.equal(l.instance.condition, "Provisioned");
  assert.ok(
    Resources.fromMesos(l.match.resources).equals(Resources.fromMesos(first.match.resources)),
  );
  assert.deepEqual(p.cleanups, []);

  // Without its volume in the offer (another agent, or not yet back), it waits.
  const noVolume = offer(
    "n1",
    Resources.fromMesos(first.match.resources).filterMeta((_, m) => !m.disk).toMesos("ads"),
  );
  const none = plan({ apps: [app], instances: [waiting], offers: [noVolume, plain("n2")] });
  assert.deepEqual(none.launches, []);
  assert.ok(none.reasons.get(app.id)?.[0]?.startsWith("NoCorrespondingReservationFound"));
});

Deno.test("planResident() destroys and unreserves what no known instance owns, and only its own", () => {
  const app = residentApp();
  const first = plan({ apps: [app], offers: [plain("n1")] }).launches[0]!;
  const stale = offer("n1", [
    ...first.match.resources,
    ...Resources.parse("cpus:1").toMesos("ads"),
  ]);
  // The app is gone (no apps, no instances): the reservation is garbage.
  const p = plan({ apps: [], offers: [stale] });
  assert.equal(p.cleanups.length, 1);
  const [destroy, unreserve] = p.cleanups[0]!.operations;
  assert.equal(destroy!.type, "DESTROY");
  assert.equal(destroy!.destroy!.volumes.length, 1);
  assert.equal(unreserve!.type, "UNRESERVE");
  const freed = Resources.fromMesos(unreserve!.unreserve!.resources);
  assert.equal(freed.scalar("disk"), 110, "the volume's disk too, once destroyed");
  assert.deepEqual(freed.persistentVolumes(), []);
  assert.equal(freed.scalar("cpus"), 0.5, "the unreserved cpus are not touched");
  assert.ok(p.usedOfferIds.has(stale.id.value));

  // Known instances keep theirs; another framework's reservations are not ours to free.
  const kept = plan({ apps: [], instances: [first.instance], offers: [stale] });
  assert.deepEqual(kept.cleanups, []);
  const other = plan({ apps: [], frameworkId: "someone-else", offers: [stale] });
  assert.deepEqual(other.cleanups, []);
});

Deno.test("planResident() reserves nothing new while suspended reservations can be taken back", () => {
  const app = residentApp({ instances: 1 });
  const first = plan({ apps: [app], offers: [plain("n1")] }).launches[0]!;
  const suspended: Instance = { ...first.instance, condition: "Reserved", goal: "Stopped" };
  const p = plan({ apps: [app], instances: [suspended], offers: [plain("n2")] });
  assert.deepEqual(p.launches, []);
});

Deno.test("planLaunches() leaves resident reservations alone and names reserved pieces it takes", () => {
  const web = {
    ...parseApp({ id: "/web", cmd: "serve", cpus: 1, mem: 64 }),
    version: "v1",
    versionInfo: { lastScalingAt: "v1", lastConfigChangeAt: "v1" },
  };
  const first = plan({ apps: [residentApp()], offers: [plain("n1")] }).launches[0]!;
  // Only Marathon's labelled reservation and a static one for the role: the labelled cpus are
  // not for web, the static ones are.
  const labelled = offer("n1", first.match.resources);
  const none = planLaunches({
    apps: [web],
    instances: [],
    offers: [labelled],
    mayLaunch: () => true,
    uuid: () => "u",
    now: 1,
  });
  assert.deepEqual(none.launches, []);
  assert.equal(none.reasons.get("/web")?.length, 1);

  const staticRes = offer(
    "n2",
    Resources.parse("cpus(ads):1;mem(ads):32;mem:64;ports:[31000-31000]").toMesos("ads"),
  );
  const p = planLaunches({
    apps: [web],
    instances: [],
    offers: [staticRes],
    mayLaunch: () => true,
    uuid: () => "u",
    now: 1,
  });
  assert.equal(p.launches.length, 1);
  const take = Resources.fromMesos(p.launches[0]!.match.resources);
  assert.equal(take.reserved("ads").scalar("cpus"), 1);
  assert.equal(take.reserved("ads").scalar("mem"), 32, "reserved pieces first");
  assert.equal(take.unreserved().scalar("mem"), 32);
  assert.ok(Resources.fromMesos(staticRes.resources).contains(take));
});
