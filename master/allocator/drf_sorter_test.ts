import assert from "node:assert/strict";
import { Resources } from "../../protocol/mod.ts";
import { DrfSorter } from "./drf_sorter.ts";

const r = (text: string) => Resources.parse(text);

Deno.test("DrfSorter progressive filling reproduces the DRF paper example", () => {
  // 9 CPUs, 18 GB; A's tasks <1 CPU, 4 GB>, B's tasks <3 CPU, 1 GB>.
  const sorter = new DrfSorter();
  sorter.setTotal(r("cpus:9;mem:18"));
  sorter.add("A");
  sorter.add("B");
  const demand = new Map([["A", r("cpus:1;mem:4")], ["B", r("cpus:3;mem:1")]]);
  let free = r("cpus:9;mem:18");
  const tasks = new Map([["A", 0], ["B", 0]]);
  for (;;) {
    const next = sorter.sort().find((c) => free.contains(demand.get(c)!));
    if (!next) break;
    free = free.subtract(demand.get(next)!);
    sorter.allocated(next, "s1", demand.get(next)!);
    tasks.set(next, tasks.get(next)! + 1);
  }
  assert.deepEqual(Object.fromEntries(tasks), { A: 3, B: 2 });
  assert.ok(Math.abs(sorter.share("A") - 2 / 3) < 1e-12);
  assert.ok(Math.abs(sorter.share("B") - 2 / 3) < 1e-12);
  assert.ok(sorter.allocation("A").equals(r("cpus:3;mem:12")));
});

Deno.test("DrfSorter.sort() puts the lowest dominant share first", () => {
  const sorter = new DrfSorter();
  sorter.setTotal(r("cpus:10;mem:100"));
  for (const c of ["a", "b", "c"]) sorter.add(c);
  sorter.allocated("a", "s1", r("cpus:5")); // 0.5
  sorter.allocated("b", "s1", r("mem:20")); // 0.2
  sorter.allocated("c", "s2", r("cpus:1;mem:30")); // 0.3
  assert.deepEqual(sorter.sort(), ["b", "c", "a"]);
  sorter.unallocated("a", "s1", r("cpus:5"));
  assert.deepEqual(sorter.sort(), ["a", "b", "c"]);
  assert.equal(sorter.share("a"), 0);
  assert.ok(sorter.allocation("a").isEmpty());
});

Deno.test("DrfSorter.sort() divides shares by weight", () => {
  const sorter = new DrfSorter();
  sorter.setTotal(r("cpus:10;mem:100"));
  sorter.add("heavy", 2);
  sorter.add("light");
  sorter.allocated("heavy", "s1", r("cpus:3")); // 0.3 / 2 = 0.15
  sorter.allocated("light", "s1", r("cpus:2")); // 0.2
  assert.deepEqual(sorter.sort(), ["heavy", "light"]);
  assert.equal(sorter.weightedShare("heavy"), 0.15);
  sorter.setWeight("heavy", 1);
  assert.deepEqual(sorter.sort(), ["light", "heavy"]);
  assert.throws(() => sorter.setWeight("light", 0), /"light"/);
});

Deno.test("DrfSorter.sort() breaks ties by fewer allocations, then name", () => {
  const sorter = new DrfSorter();
  sorter.setTotal(r("cpus:10"));
  for (const c of ["b", "a", "c"]) sorter.add(c);
  assert.deepEqual(sorter.sort(), ["a", "b", "c"]);
  sorter.allocated("a", "s1", r("cpus:1"));
  sorter.allocated("a", "s1", r("cpus:1"));
  sorter.unallocated("a", "s1", r("cpus:2"));
  sorter.allocated("b", "s1", r("cpus:1"));
  sorter.unallocated("b", "s1", r("cpus:1"));
  // All at share 0: c has had no allocations, b one, a two.
  assert.deepEqual(sorter.sort(), ["c", "b", "a"]);
});

Deno.test("DrfSorter.sort() leaves out inactive clients and ignores excluded resources", () => {
  const sorter = new DrfSorter({ fairnessExcluded: ["gpus"] });
  sorter.setTotal(r("cpus:10;gpus:1"));
  sorter.add("x");
  sorter.add("y");
  sorter.allocated("x", "s1", r("cpus:1;gpus:1"));
  assert.equal(sorter.share("x"), 0.1);
  sorter.deactivate("y");
  assert.deepEqual(sorter.sort(), ["x"]);
  assert.ok(!sorter.isActive("y"));
  sorter.activate("y");
  assert.deepEqual(sorter.sort(), ["y", "x"]);
  sorter.remove("y");
  assert.deepEqual(sorter.sort(), ["x"]);
  assert.ok(!sorter.has("y"));
});

Deno.test("DrfSorter.setTotal() re-ranks everyone", () => {
  const sorter = new DrfSorter();
  sorter.setTotal(r("cpus:10;mem:10"));
  sorter.add("cpu");
  sorter.add("mem");
  sorter.allocated("cpu", "s1", r("cpus:4")); // 0.4
  sorter.allocated("mem", "s1", r("mem:5")); // 0.5
  assert.deepEqual(sorter.sort(), ["cpu", "mem"]);
  sorter.setTotal(r("cpus:5;mem:100")); // cpu 0.8, mem 0.05
  assert.deepEqual(sorter.sort(), ["mem", "cpu"]);
});

Deno.test("DrfSorter lazy re-sorting matches a full sort under random changes", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const sorter = new DrfSorter();
  sorter.setTotal(r("cpus:100;mem:1000"));
  const names = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, "0")}`);
  const counts = new Map(names.map((n) => [n, 0]));
  for (const n of names) sorter.add(n, 1 + Math.floor(rand() * 3));
  for (let step = 0; step < 2000; step++) {
    const c = names[Math.floor(rand() * names.length)]!;
    const x = rand();
    if (x < 0.5) {
      sorter.allocated(c, "s", r(`cpus:${Math.floor(rand() * 3)};mem:${Math.floor(rand() * 30)}`));
      counts.set(c, counts.get(c)! + 1);
    } else if (x < 0.8) sorter.unallocated(c, "s", sorter.allocation(c));
    else if (x < 0.9) sorter.deactivate(c);
    else sorter.activate(c);
    const want = names.filter((n) => sorter.isActive(n)).sort((a, b) =>
      sorter.weightedShare(a) - sorter.weightedShare(b) || counts.get(a)! - counts.get(b)! ||
      (a < b ? -1 : 1)
    );
    assert.deepEqual(sorter.sort(), want, `step ${step}`);
  }
});
