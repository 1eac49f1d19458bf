import assert from "node:assert/strict";
import { type Offer, OfferSchema, Resources } from "../../../protocol/mod.ts";
import { SequentialIds } from "../../../base/mod.ts";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import { instance } from "../deployment/testing.ts";
import { planLaunches } from "./offer_plan.ts";

function offer(host: string, res = "cpus:4;mem:4096;disk:100;ports:[31000-31010]"): Offer {
  return OfferSchema.parse({
    id: { value: `o-${host}` },
    framework_id: { value: "f" },
    agent_id: { value: `a-${host}` },
    hostname: host,
    resources: Resources.parse(res).toMesos(),
  });
}

function app(raw: Record<string, unknown>): App {
  const a = parseApp({ cmd: "serve", cpus: 1, mem: 128, ...raw });
  return { ...a, version: "v1", versionInfo: { lastScalingAt: "v1", lastConfigChangeAt: "v1" } };
}

const plan = (
  apps: App[],
  offers: Offer[],
  extra: Partial<Parameters<typeof planLaunches>[0]> = {},
) => {
  const ids = new SequentialIds();
  return planLaunches({
    apps,
    instances: [],
    offers,
    mayLaunch: () => true,
    uuid: () => ids.uuid(),
    now: 5,
    ...extra,
  });
};

Deno.test("planLaunches() spreads replicas across agents and packs the rest", () => {
  const web = app({ id: "/web", instances: 4 });
  const p = plan([web], [offer("n1"), offer("n2")]);
  assert.deepEqual(p.launches.map((l) => l.instance.hostname), ["n1", "n2", "n1", "n2"]);
  assert.deepEqual(p.launches.map((l) => l.match.hostPorts[0]), [31000, 31000, 31001, 31001]);
  assert.equal(p.launches[0]!.instance.condition, "Provisioned");
  assert.equal(p.launches[0]!.instance.version, "v1");
  assert.deepEqual(p.unusedOfferIds, []);
});

Deno.test("planLaunches() consumes offer resources and reports why nothing fitted", () => {
  const big = app({ id: "/big", instances: 3, cpus: 3 });
  const p = plan([big], [offer("n1")]);
  assert.equal(p.launches.length, 1, "only one 3-cpu instance fits a 4-cpu offer");
  assert.ok(p.reasons.get("/big")?.[0]?.startsWith("InsufficientCpus"));
});

Deno.test("planLaunches() honours constraints, existing instances, backoff and the per-offer cap", () => {
  const unique = app({ id: "/u", instances: 3, constraints: [["hostname", "UNIQUE"]] });
  const existing = instance(unique, { hostname: "n1" });
  const p = plan([unique], [offer("n1"), offer("n2"), offer("n3")], { instances: [existing] });
  assert.deepEqual(p.launches.map((l) => l.instance.hostname).sort(), ["n2", "n3"]);
  assert.deepEqual(p.unusedOfferIds, ["o-n1"]);
  assert.equal(plan([unique], [offer("n1")], { mayLaunch: () => false }).launches.length, 0);
  const many = app({ id: "/m", instances: 10, cpus: 0.1, mem: 1 });
  const capped = plan([many], [offer("n1")], { maxPerOffer: 3 });
  assert.equal(capped.launches.length, 3);
  assert.equal(capped.capped, true, "the cap, not the offer, left 7 instances out");
  assert.equal(plan([many], [offer("n1")], { maxPerOffer: 10 }).capped, false);
  assert.equal(p.capped, false);
});

Deno.test("planLaunches() launches nothing for a restart until the kills making room are sent", () => {
  const v1 = app({
    id: "/web",
    instances: 2,
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 },
  });
  const v2 = {
    ...v1,
    version: "v2",
    versionInfo: { lastScalingAt: "v2", lastConfigChangeAt: "v2" },
  };
  // Two old instances and a new one just turned healthy: one old must go before the next new.
  const instances = [instance(v1), instance(v1), instance(v2)];
  const p = plan([v2], [offer("n1")], { instances });
  assert.deepEqual(p.launches, []);
  assert.deepEqual(p.awaitingKills, ["/web"]);
  const [, second, third] = instances;
  const stopped = [{ ...instances[0]!, goal: "Stopped" as const }, second!, third!];
  const after = plan([v2], [offer("n1")], { instances: stopped });
  assert.equal(after.launches.length, 1, "once the kill is sent, the next new instance");
  assert.deepEqual(after.awaitingKills, []);
});
