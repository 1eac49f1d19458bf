/** `deno bench frameworks/marathon/scheduler/offer_plan_bench.ts`: launch planning at scale. */
import { type Offer, OfferSchema, Resources } from "../../../protocol/mod.ts";
import { SequentialIds } from "../../../base/mod.ts";
import { parseApp } from "../app/parse.ts";
import type { App } from "../app/normalize.ts";
import { reconcileApp } from "../deployment/reconcile.ts";
import { instance } from "../deployment/testing.ts";
import { planLaunches } from "./offer_plan.ts";

function offers(n: number): Offer[] {
  return Array.from({ length: n }, (_, i) =>
    OfferSchema.parse({
      id: { value: `o-${i}` },
      framework_id: { value: "f" },
      agent_id: { value: `a-${i}` },
      hostname: `node-${i}`,
      resources: Resources.parse("cpus:32;mem:65536;disk:100000;ports:[31000-32000]").toMesos(),
    }));
}

function apps(n: number, instances: number): App[] {
  return Array.from({ length: n }, (_, i) => ({
    ...parseApp({
      id: `/svc-${i}`,
      cmd: "serve",
      cpus: 0.1,
      mem: 64,
      instances,
      constraints: [["hostname", "MAX_PER", "3"]],
    }),
    version: "v1",
  }));
}

const hundred = apps(100, 10);
const fiveHundredOffers = offers(500);
Deno.bench("planLaunches(): 100 apps × 10 instances over 500 offers", () => {
  const ids = new SequentialIds();
  planLaunches({
    apps: hundred,
    instances: [],
    offers: fiveHundredOffers,
    mayLaunch: () => true,
    uuid: () => ids.uuid(),
    now: 0,
  });
});

const big = { ...apps(1, 1000)[0]!, instances: 1000 };
const running = Array.from({ length: 1000 }, () => instance({ ...big, version: "v0" }));
Deno.bench("reconcileApp(): rolling restart decision for 1000 instances", () => {
  reconcileApp(big, running);
});
