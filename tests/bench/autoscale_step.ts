/**
 * Time from a load step to the instances the autoscaler added being healthy: a master, an agent
 * (process containerizer), Marathon, a router and the autoscaler (1 s passes) as processes; an app
 * labelled for 10 requests per second per instance (max 4, up step 2, up cooldown 3 s) behind the
 * router; `--rounds` times, ~60 requests per second start, and the time until 3 and then 4
 * instances are healthy (Mesos HTTP health check, delaySeconds 1) is taken; the load stops and
 * the app returns to 1 before the next round. Prints `metric value unit` lines (medians). Not
 * part of run_all.ts.
 *
 *   deno run -A --unstable-kv tests/bench/autoscale_step.ts [--rounds 3]
 */
import { parseArgs } from "node:util";
import { waitFor } from "../support/cluster.ts";
import { AutoscaleWorld, LoadGenerator } from "../support/autoscale_world.ts";

const ROUNDS = Number(
  parseArgs({ args: Deno.args, options: { rounds: { type: "string", default: "3" } } }).values
    .rounds,
);

const world = await AutoscaleWorld.start({ interval: 1 });
const toThree: number[] = [], toFour: number[] = [], backDown: number[] = [];
try {
  await world.deploy({
    TENDER_AUTOSCALE_MAX: "4",
    TENDER_AUTOSCALE_TARGET: "10",
    TENDER_AUTOSCALE_UP_STEP: "2",
    TENDER_AUTOSCALE_UP_COOLDOWN: "3",
    TENDER_AUTOSCALE_DOWN_STEP: "2",
    TENDER_AUTOSCALE_DOWN_COOLDOWN: "5",
  });
  for (let round = 0; round < ROUNDS; round++) {
    const load = new LoadGenerator(world.routerPort, { rps: 60 });
    const start = performance.now();
    const healthy = (n: number) =>
      waitFor(`${n} healthy instances`, async () => (await world.app()).tasksHealthy >= n, 120_000);
    await healthy(3);
    toThree.push(performance.now() - start);
    await healthy(4);
    toFour.push(performance.now() - start);
    await load.stop();
    const stop = performance.now();
    await waitFor("back to 1 instance", async () => {
      const app = await world.app();
      return app.instances === 1 && app.tasksRunning === 1 && app.deployments.length === 0;
    }, 120_000);
    backDown.push(performance.now() - stop);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`autoscale_load_step_to_3_healthy ${(median(toThree) / 1000).toFixed(2)} s`);
  console.log(`autoscale_load_step_to_4_healthy ${(median(toFour) / 1000).toFixed(2)} s`);
  console.log(`autoscale_load_stop_to_1_instance ${(median(backDown) / 1000).toFixed(2)} s`);
  console.log(`autoscale_rounds ${ROUNDS} rounds`);
} finally {
  await world.stop();
}
