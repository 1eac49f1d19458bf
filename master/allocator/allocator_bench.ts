/** `deno bench master/allocator/allocator_bench.ts`: allocation runs at cluster scale. */
import { Resources } from "../../protocol/mod.ts";
import { Allocator } from "./allocator.ts";

const SLICE = Resources.parse("cpus:8;mem:32768;disk:100000;ports:[31000-32000]");

function cluster(agents: number, frameworks: number): Allocator {
  const a = new Allocator();
  for (let i = 0; i < agents; i++) {
    a.addAgent({ id: `agent-${i}`, hostname: `h${i}`, total: SLICE, attributes: [] });
  }
  for (let f = 0; f < frameworks; f++) {
    a.addFramework(`fw-${f}`, { roles: [`role-${f % 3}`] });
  }
  return a;
}

const full = cluster(1000, 10);
Deno.bench("Allocator.run(): 1,000 free agents, 10 frameworks", (b) => {
  b.start();
  const got = full.run(0);
  b.end();
  if (got.length !== 1000) throw new Error(`expected 1000 allocations, got ${got.length}`);
  for (const x of got) full.recover(x);
});

const busy = cluster(1000, 10);
busy.run(0);
Deno.bench("Allocator.run(): 1,000 agents, all allocated (steady state)", () => {
  busy.run(0);
});

Deno.bench("Allocator: 1,000 agents, 1 framework places 10,000 tasks via offers", () => {
  const a = cluster(1000, 1);
  const task = Resources.parse("cpus:0.1;mem:64");
  let placed = 0, now = 0;
  while (placed < 10_000) {
    for (const offer of a.run(now)) {
      // Launch up to 10 tasks from the offer; the rest goes back with a 5 s refuse filter.
      let left = offer.resources;
      for (let k = 0; k < 10 && placed < 10_000 && left.contains(task); k++) {
        left = left.subtract(task);
        placed++;
      }
      a.recover({ ...offer, resources: left }, { refuseUntil: now + 5000 });
    }
    now += 1000;
  }
});

Deno.bench("Allocator.allocate() + recover() of 10,000 task-sized bundles on 1,000 agents", () => {
  const a = cluster(1000, 1);
  // Ten tasks per agent, each with its own port.
  const tasks = Array.from(
    { length: 10 },
    (_, k) => Resources.parse(`cpus:0.1;mem:64;ports:[${31000 + k}-${31000 + k}]`),
  );
  for (let i = 0; i < 10_000; i++) {
    a.allocate("fw-0", "role-0", `agent-${i % 1000}`, tasks[Math.floor(i / 1000)]!);
  }
  for (let i = 0; i < 10_000; i++) {
    const resources = tasks[Math.floor(i / 1000)]!;
    a.recover({ frameworkId: "fw-0", role: "role-0", agentId: `agent-${i % 1000}`, resources });
  }
});
