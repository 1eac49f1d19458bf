/**
 * Issue 17 item 4 at the sizes the suite does not run: each case in a process of its own, timed,
 * with that process's peak RSS over the measured part (reset through /proc/self/clear_refs).
 * Prints `metric value unit`:
 *
 * - `group_put_1000_apps_ms`, `group_put_1000_apps_rss_mb`: `PUT /v2/groups/big` of 1,000 apps
 *   (3 MB) on Deno KV, in-process API (before the JournaledStore: a 500, "Too many checks");
 * - `v2_apps_10000_{string,stream}_ms` / `_rss_mb`: `GET /v2/apps?embed=apps.tasks` over 10,000
 *   apps, read whole — `string` builds the answer as the route did before (every AppInfo, then one
 *   `JSON.stringify`), `stream` is the route now;
 * - `master_state_100000_{string,stream}_ms` / `_rss_mb`: `/master/state` of a master core
 *   (FakeClock, the core harness: no agents on the wire) holding 100,000 tasks — `string` as
 *   before (`masterState` + `JSON.stringify`), `stream` as now (`masterStateStreamed` +
 *   `jsonStream`, read to the end).
 *
 * `deno run -A --unstable-kv tests/bench/large_state.ts`
 */
import { FakeClock, jsonStream, SequentialIds } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { DenoKvStore } from "../../store/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "../../master/core/context.ts";
import { Master } from "../../master/core/master.ts";
import { masterState, masterStateStreamed } from "../../master/http/state_json.ts";
import { storedAppInfo } from "../../frameworks/marathon/api/apps_routes.ts";
import type { MarathonStore } from "../../frameworks/marathon/store/store.ts";
import { inMemoryMarathon } from "../support/marathon_in_memory.ts";

const CASES = [
  "group_put_1000_apps",
  "v2_apps_10000_string",
  "v2_apps_10000_stream",
  "master_state_100000_string",
  "master_state_100000_stream",
];

function peakRssMb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function resetPeak(): void {
  Deno.writeTextFileSync("/proc/self/clear_refs", "5");
}

function apps(n: number, bytes: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    cmd: "sleep 1000",
    cpus: 0.01,
    mem: 8,
    labels: { pad: "p".repeat(bytes) },
  }));
}

async function withMarathon(
  fn: (
    request: (path: string, init?: RequestInit) => Promise<Response>,
    store: MarathonStore,
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "bench-large-" });
  const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
  const marathon = inMemoryMarathon(kv);
  try {
    await fn(marathon.request, marathon.store);
  } finally {
    marathon.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const put = (json: unknown): RequestInit => ({
  method: "PUT",
  body: JSON.stringify(json),
  headers: { "content-type": "application/json" },
});

async function runCase(name: string): Promise<void> {
  if (name === "group_put_1000_apps") {
    await withMarathon(async (request) => {
      resetPeak();
      const start = performance.now();
      const r = await request("/v2/groups/big", put({ apps: apps(1_000, 3_000, "a") }));
      const ms = performance.now() - start;
      await r.body?.cancel();
      if (r.status !== 200) throw new Error(`PUT answered ${r.status}`);
      print(name, ms);
    });
  } else if (name.startsWith("v2_apps_10000")) {
    await withMarathon(async (request, store) => {
      for (let g = 0; g < 10; g++) {
        const r = await request(`/v2/groups/g${g}`, put({ apps: apps(1_000, 100, "a") }));
        await r.body?.cancel();
        if (r.status !== 200) throw new Error(`PUT answered ${r.status}`);
      }
      resetPeak();
      const start = performance.now();
      let bytes = 0;
      if (name.endsWith("string")) {
        const listed = await store.listApps();
        const text = JSON.stringify({
          apps: await Promise.all(
            listed.map((a) => storedAppInfo(store, a, { tasks: true, lastTaskFailure: true })),
          ),
        });
        bytes = new TextEncoder().encode(text).length;
      } else {
        const r = await request("/v2/apps?embed=apps.tasks");
        for await (const chunk of r.body!) bytes += chunk.length;
      }
      print(name, performance.now() - start, bytes);
    });
  } else {
    const master = masterWithTasks(100_000);
    resetPeak();
    const start = performance.now();
    let bytes = 0;
    if (name.endsWith("string")) {
      bytes = new TextEncoder().encode(JSON.stringify(masterState(master.ctx))).length;
    } else {
      for await (const chunk of jsonStream(masterStateStreamed(master.ctx))) bytes += chunk.length;
    }
    print(name, performance.now() - start, bytes);
  }
}

function print(name: string, ms: number, bytes?: number): void {
  console.log(`${name}_ms ${ms.toFixed(0)} ms`);
  console.log(`${name}_rss_mb ${peakRssMb()} MB`);
  if (bytes !== undefined) console.log(`${name}_bytes ${bytes} bytes`);
}

/** A master core with 100 agents and one framework running `n` tasks spread over them. */
function masterWithTasks(n: number): Master {
  const master = new Master({ clock: new FakeClock(), ids: new SequentialIds() }, {
    ...DEFAULT_MASTER_OPTIONS,
  });
  const frameworkId = master.subscribeFramework({
    type: "SUBSCRIBE",
    subscribe: { framework_info: { user: "u", name: "bench" } },
  }, "fs1");
  for (let a = 0; a < 100; a++) {
    master.subscribeAgent({
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname: `sim-${a}`,
          port: 5051,
          resources: Resources.parse("cpus:1000;mem:1000000").toMesos(),
          attributes: [],
        },
        tasks: [],
      },
    }, `as${a}`);
  }
  master.allocatePending();
  const offers = master.drain().outbox.flatMap((o) =>
    o.to === "framework" && o.event.type === "OFFERS" ? o.event.offers.offers : []
  );
  const per = Math.ceil(n / offers.length);
  offers.forEach((offer, a) => {
    master.schedulerCall({
      type: "ACCEPT",
      framework_id: { value: frameworkId },
      accept: {
        offer_ids: [offer.id],
        operations: [{
          type: "LAUNCH",
          launch: {
            task_infos: Array.from({ length: Math.min(per, n - a * per) }, (_, i) => ({
              name: `web-${a}-${i}`,
              task_id: { value: `web-${a}-${i}` },
              agent_id: offer.agent_id,
              resources: Resources.parse("cpus:0.01;mem:8").toMesos(),
              command: { value: "sleep 1000" },
            })),
          },
        }],
      },
    }, "fs1");
    master.drain();
  });
  return master;
}

if (Deno.args[0] === "--case") {
  await runCase(Deno.args[1]!);
} else {
  for (const name of CASES) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", import.meta.filename!, "--case", name],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) console.log(`# ${name} failed (exit ${out.code})`);
    Deno.stdout.writeSync(new TextEncoder().encode(text));
  }
}
