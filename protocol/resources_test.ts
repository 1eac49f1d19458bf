import assert from "node:assert/strict";
import { formatRanges, normRanges, Resources, toMilli } from "./resources.ts";
import { type Resource, ResourceSchema } from "./mesos.ts";

Deno.test("Resources scalars are exact in milli-units", async (t) => {
  await t.step("0.1 + 0.2 cpus is exactly 0.3", () => {
    const r = Resources.scalars({ cpus: 0.1 }).add(Resources.scalars({ cpus: 0.2 }));
    assert.equal(r.scalar("cpus"), 0.3);
    assert.equal(r.scalarMilli("cpus"), 300);
    assert.ok(r.equals(Resources.scalars({ cpus: 0.3 })));
  });
  await t.step("subtracting back to zero removes the name", () => {
    const r = Resources.scalars({ cpus: 0.3, mem: 64 }).subtract(Resources.scalars({ cpus: 0.3 }));
    assert.deepEqual(r.names(), ["mem"]);
    assert.equal(r.kind("cpus"), undefined);
  });
  await t.step("rounds to three decimals as Mesos does", () => {
    assert.equal(toMilli(0.0004), 0);
    assert.equal(Resources.scalars({ cpus: 1.23456 }).scalar("cpus"), 1.235);
    assert.ok(Resources.scalars({ cpus: 0.0004 }).isEmpty());
  });
  await t.step("rejects negative, NaN and infinite scalars", () => {
    assert.throws(() => Resources.scalars({ cpus: -1 }), /cpus/);
    assert.throws(() => Resources.scalars({ mem: NaN }), /mem/);
    assert.throws(() => Resources.scalars({ mem: Infinity }), /mem/);
  });
  await t.step("subtract() throws when not contained", () => {
    const a = Resources.scalars({ cpus: 1 });
    assert.throws(() => a.subtract(Resources.scalars({ cpus: 1.001 })), /not contained/);
    assert.throws(() => a.subtract(Resources.scalars({ mem: 1 })), /not contained/);
  });
});

Deno.test("Resources ranges add, subtract, contain and merge", async (t) => {
  const ports = (...rs: [number, number][]) =>
    Resources.ranges("ports", rs.map(([begin, end]) => ({ begin, end })));
  await t.step("normRanges() merges overlapping and adjacent ranges", () => {
    assert.deepEqual(
      normRanges([{ begin: 10, end: 12 }, { begin: 1, end: 3 }, { begin: 4, end: 5 }, {
        begin: 11,
        end: 20,
      }]),
      [{ begin: 1, end: 5 }, { begin: 10, end: 20 }],
    );
  });
  await t.step("add() merges", () => {
    const r = ports([31000, 31005]).add(ports([31006, 31010])).add(ports([31020, 31020]));
    assert.equal(formatRanges(r.ranges("ports")), "[31000-31010,31020-31020]");
  });
  await t.step("subtract() splits a range", () => {
    const r = ports([31000, 32000]).subtract(ports([31000, 31000], [31500, 31600]));
    assert.equal(formatRanges(r.ranges("ports")), "[31001-31499,31601-32000]");
  });
  await t.step("subtracting everything removes the name", () => {
    const r = ports([1, 5]).subtract(ports([1, 5]));
    assert.ok(r.isEmpty());
  });
  await t.step("contains() needs every inner range inside an outer range", () => {
    const outer = ports([31000, 31010], [31020, 31030]);
    assert.ok(outer.contains(ports([31000, 31000], [31025, 31030])));
    assert.ok(!outer.contains(ports([31010, 31020])));
    assert.ok(!outer.contains(ports([30999, 30999])));
    assert.throws(() => outer.subtract(ports([31011, 31011])), /not contained/);
  });
  await t.step("a name of another kind is not contained", () => {
    const r = Resources.parse("cpus:1");
    assert.ok(!r.contains(Resources.ranges("cpus", [{ begin: 1, end: 1 }])));
    assert.throws(() => r.add(Resources.ranges("cpus", [{ begin: 1, end: 1 }])), /SCALAR/);
  });
});

Deno.test("Resources.parse() reads the agent flag syntax", async (t) => {
  await t.step("scalars, ranges, sets and the unreserved role (*)", () => {
    const r = Resources.parse(
      "cpus:2; mem:1024.5;ports:[31000-32000, 33000-33100];disks:{b,a,a};gpus(*):1",
    );
    assert.equal(r.scalar("cpus"), 2);
    assert.equal(r.scalar("mem"), 1024.5);
    assert.equal(r.scalar("gpus"), 1);
    assert.deepEqual(r.ranges("ports"), [{ begin: 31000, end: 32000 }, {
      begin: 33000,
      end: 33100,
    }]);
    assert.deepEqual(r.set("disks"), ["a", "b"]);
    assert.equal(
      r.toString(),
      "cpus:2;disks:{a,b};gpus:1;mem:1024.5;ports:[31000-32000,33000-33100]",
    );
    assert.ok(Resources.parse(r.toString()).equals(r));
  });
  await t.step("repeated names are summed", () => {
    assert.equal(Resources.parse("cpus:1;cpus:0.5").scalar("cpus"), 1.5);
  });
  await t.step("empty text is no resources; an empty set is nothing", () => {
    assert.ok(Resources.parse("").isEmpty());
    assert.ok(Resources.parse("disks:{}").isEmpty());
    assert.ok(
      Resources.parse("cpus:1").subtract(Resources.parse("disks:{}")).equals(
        Resources.parse("cpus:1"),
      ),
    );
  });
  await t.step("errors name the bad part", () => {
    assert.throws(() => Resources.parse("cpus:1;mem"), /"mem"/);
    assert.throws(() => Resources.parse("cpus:abc"), /"cpus".*"abc"/);
    assert.throws(() => Resources.parse("cpus:-1"), /"cpus"/);
    assert.throws(() => Resources.parse("ports:[31000-30000]"), /"31000-30000".*"ports"/);
    assert.throws(() => Resources.parse("ports:[a-b]"), /"a-b"/);
    assert.throws(() => Resources.parse("ports:[1-2"), /"ports"/);
    assert.throws(() => Resources.parse("disks:{a,b"), /"disks"/);
    assert.throws(() => Resources.parse("1cpus:1"), /"1cpus:1"/);
  });
});

Deno.test("Resources.toMesos() and fromMesos() round trip", () => {
  const r = Resources.parse("cpus:0.3;mem:128;ports:[31000-31001,31005-31005];disks:{x}");
  const wire = r.toMesos();
  assert.deepEqual(wire.find((x) => x.name === "cpus"), {
    name: "cpus",
    role: "*",
    type: "SCALAR",
    scalar: { value: 0.3 },
  });
  assert.ok(Resources.fromMesos(wire).equals(r));
  const withRole = r.toMesos("web");
  assert.ok(withRole.every((x) => x.allocation_info?.role === "web"));
  assert.ok(Resources.fromMesos(withRole).equals(r));
  const split: Resource[] = [
    { name: "cpus", type: "SCALAR", scalar: { value: 0.1 } },
    { name: "cpus", type: "SCALAR", scalar: { value: 0.2 } },
  ];
  assert.equal(Resources.fromMesos(split).scalar("cpus"), 0.3);
});

Deno.test("Resources.toFlat() has the /master/state shape", () => {
  const r = Resources.parse("cpus:1;mem:128;ports:[31000-31000]");
  assert.equal(
    JSON.stringify(r.toFlat()),
    '{"cpus":1,"mem":128,"disk":0,"gpus":0,"ports":"[31000-31000]"}',
  );
  assert.deepEqual(Resources.empty().toFlat(), { cpus: 0, mem: 0, disk: 0, gpus: 0 });
});

Deno.test("Resources.filter() keeps only the named resources", () => {
  const r = Resources.parse("cpus:1;mem:128;ports:[1-2]").filter((n) => n !== "ports");
  assert.deepEqual(r.names(), ["cpus", "mem"]);
});

Deno.test("Resources keeps reserved and unreserved apart", async (t) => {
  await t.step("parse() reads cpus(ads):2 as a STATIC reservation for ads", () => {
    const r = Resources.parse("cpus:1;cpus(ads):2;mem(ads):512");
    assert.equal(r.scalar("cpus"), 3);
    assert.equal(r.unreserved().scalar("cpus"), 1);
    assert.equal(r.reserved("ads").scalar("cpus"), 2);
    assert.equal(r.reserved("ads").scalar("mem"), 512);
    const wire = r.toMesos().filter((x) => x.name === "cpus");
    assert.deepEqual(wire.find((x) => x.role === "ads"), {
      name: "cpus",
      role: "ads",
      type: "SCALAR",
      scalar: { value: 2 },
      reservations: [{ type: "STATIC", role: "ads" }],
    });
    assert.ok(Resources.parse(r.toString()).equals(r));
  });
  await t.step("unreserved cpus are not contained in reserved ones", () => {
    const reserved = Resources.parse("cpus(ads):2");
    assert.ok(!reserved.contains(Resources.scalars({ cpus: 1 })));
    assert.ok(!Resources.scalars({ cpus: 2 }).contains(reserved));
    assert.equal(reserved.add(Resources.scalars({ cpus: 1 })).parts().length, 2);
  });
  await t.step("pre-refinement role + reservation reads as the refined stack", () => {
    const pre: Resource = {
      name: "cpus",
      type: "SCALAR",
      scalar: { value: 1 },
      role: "ads",
      reservation: { principal: "ops" },
    };
    const refined: Resource = {
      name: "cpus",
      type: "SCALAR",
      scalar: { value: 1 },
      reservations: [{ type: "DYNAMIC", role: "ads", principal: "ops" }],
    };
    assert.ok(Resources.fromMesos([pre]).equals(Resources.fromMesos([refined])));
    const out = Resources.fromMesos([pre]).toMesos()[0]!;
    assert.equal(out.role, "ads");
    assert.deepEqual(out.reservation, { principal: "ops" });
    assert.deepEqual(out.reservations, [{ type: "DYNAMIC", role: "ads", principal: "ops" }]);
  });
  await t.step("allocatableTo() gives a role its own and its ancestors' reservations", () => {
    const r = Resources.parse("cpus:1;cpus(eng):2;cpus(ads):4");
    assert.equal(r.allocatableTo("eng").scalar("cpus"), 3);
    assert.equal(r.allocatableTo("eng/web").scalar("cpus"), 3);
    assert.equal(r.allocatableTo("engineering").scalar("cpus"), 1);
    assert.equal(r.allocatableTo("ads").scalar("cpus"), 5);
  });
  await t.step("a persistent volume is its own key and is contained only whole", () => {
    const vol = Resources.fromMesos([{
      name: "disk",
      type: "SCALAR",
      scalar: { value: 100 },
      reservations: [{ type: "DYNAMIC", role: "ads" }],
      disk: { persistence: { id: "v1" }, volume: { container_path: "data", mode: "RW" } },
    }]);
    const plain = Resources.parse("disk(ads):100").withMeta((m) => ({
      reservations: m.reservations.map((x) => ({ ...x, type: "DYNAMIC" as const })),
    }));
    assert.ok(!plain.contains(vol));
    assert.ok(vol.contains(vol));
    const half = vol.toMesos()[0]!;
    half.scalar = { value: 50 };
    assert.ok(!vol.contains(Resources.fromMesos([half])));
    assert.deepEqual(vol.persistentVolumes().map((v) => [v.role, v.id]), [["ads", "v1"]]);
    assert.equal(vol.toMesos()[0]!.disk?.volume?.container_path, "data");
  });
});

Deno.test("ResourceSchema refuses reservation and disk fields Tender cannot honour", () => {
  const base = { name: "disk", type: "SCALAR", scalar: { value: 1 } };
  const bad = (extra: Record<string, unknown>, re: RegExp) => {
    const r = ResourceSchema.safeParse({ ...base, ...extra });
    assert.ok(!r.success);
    assert.match(r.error.issues.map((i) => i.message).join("; "), re);
  };
  bad({ provider_id: { value: "p" } }, /provider_id/);
  bad({ disk: { source: { type: "MOUNT" } } }, /disk.source/);
  bad({ reservations: [{ type: "DYNAMIC" }] }, /reservations\[0\].role/);
  bad({ role: "a", reservations: [{ type: "DYNAMIC", role: "b" }] }, /disagrees/);
  bad({ reservation: { principal: "p" } }, /unreserved/);
  bad({ disk: { volume: { container_path: "x" } } }, /persistence/);
  assert.ok(
    ResourceSchema.safeParse({
      ...base,
      role: "a",
      reservation: {},
      reservations: [{ type: "DYNAMIC", role: "a" }],
    }).success,
  );
});
