import assert from "node:assert/strict";
import { containerizersAttribute, type Offer, OfferSchema, Resources } from "../protocol/mod.ts";
import { attributeText, OfferPicker, offerResources, pickResources } from "./offer_picker.ts";

function offer(resources: string, extra: Partial<Offer> = {}): Offer {
  return OfferSchema.parse({
    id: { value: "o-1" },
    framework_id: { value: "f-1" },
    agent_id: { value: "a-1" },
    hostname: "node1",
    resources: Resources.parse(resources).toMesos(),
    attributes: [
      { name: "rack", type: "TEXT", text: { value: "r1" } },
      { name: "level", type: "SCALAR", scalar: { value: 3 } },
      { name: "disks", type: "SET", set: { item: ["a", "b"] } },
    ],
    ...extra,
  });
}

Deno.test("pickResources() takes scalars and the lowest ports out of an offer", () => {
  const result = pickResources(offer("cpus:2;mem:1024;disk:100;ports:[31005-31006,31000-31001]"), {
    cpus: 0.5,
    mem: 128,
    disk: 10,
    ports: 3,
  });
  assert.ok(result.ok);
  assert.deepEqual(result.ports, [31000, 31001, 31005]);
  assert.equal(
    Resources.fromMesos(result.resources).toString(),
    "cpus:0.5;disk:10;mem:128;ports:[31000-31001,31005-31005]",
  );
  assert.equal(result.remaining.toString(), "cpus:1.5;disk:90;mem:896;ports:[31006-31006]");
  assert.ok(result.resources.every((r) => r.role === "*" && r.allocation_info === undefined));
});

Deno.test("pickResources() returns every shortfall as a reason, without throwing", () => {
  const result = pickResources(offer("cpus:0.5;mem:64;ports:[31000-31000]"), {
    cpus: 1,
    mem: 64,
    ports: 2,
  });
  assert.deepEqual(result, {
    ok: false,
    reason: `offer "o-1" is short of cpus 1 (has 0.5), 2 ports (has 1)`,
  });
});

Deno.test("pickResources() can be called again on the remainder to pack tasks exactly", () => {
  let left: Resources = offerResources(offer("cpus:1;mem:300"));
  let packed = 0;
  while (true) {
    const result = pickResources(left, { cpus: 0.1, mem: 30 });
    if (!result.ok) {
      assert.match(result.reason, /^the remaining resources is short of cpus 0.1 \(has 0\)/);
      break;
    }
    left = result.remaining;
    packed++;
  }
  assert.equal(packed, 10); // exact arithmetic: ten times 0.1 cpus fit into 1
  assert.ok(left.isEmpty());
});

Deno.test("pickResources() tags resources with the offer's allocation role", () => {
  const result = pickResources(offer("cpus:1;mem:64", { allocation_info: { role: "web" } }), {
    cpus: 1,
    mem: 64,
  });
  assert.ok(result.ok);
  assert.deepEqual(result.resources.map((r) => r.allocation_info?.role), ["web", "web"]);
});

Deno.test("pickResources() rejects a negative demand as a value", () => {
  const result = pickResources(offer("cpus:1;mem:64"), { cpus: -1, mem: 1 });
  assert.equal(result.ok, false);
});

Deno.test("OfferPicker.pick() shrinks the remainder only on success and names the offer", () => {
  const picker = new OfferPicker(offer("cpus:1;mem:256;ports:[31000-31002]"));
  const a = picker.pick({ cpus: 0.4, mem: 100, ports: 2 });
  const b = picker.pick({ cpus: 0.4, mem: 100, ports: 2 });
  const c = picker.pick({ cpus: 0.4, mem: 200, ports: 1 });
  const d = picker.pick({ cpus: 0.6, mem: 156, ports: 1 });
  assert.ok(a.ok && d.ok);
  assert.deepEqual(a.ports, [31000, 31001]);
  assert.deepEqual(b, {
    ok: false,
    reason: `offer "o-1" (after 1 tasks) is short of 2 ports (has 1)`,
  });
  assert.equal(c.ok, false);
  assert.deepEqual(d.ports, [31002]);
  assert.equal(picker.picks, 2);
  assert.ok(picker.remaining.isEmpty());
});

Deno.test("attributeText() reads text, scalar and set attributes", () => {
  const o = offer("cpus:1");
  assert.equal(attributeText(o, "rack"), "r1");
  assert.equal(attributeText(o, "level"), "3");
  assert.equal(attributeText(o, "disks"), "a,b");
  assert.equal(attributeText(o, "zone"), undefined);
});

Deno.test("OfferPicker.pick() fits a task with an image only on an agent that runs images", () => {
  const processOnly = offer("cpus:2;mem:1024", {
    attributes: [containerizersAttribute(["process"])],
  });
  const picker = new OfferPicker(processOnly);
  const refused = picker.pick({ cpus: 0.1, mem: 16, image: true });
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : "", /runs no images/);
  assert.equal(picker.picks, 0);
  assert.ok(picker.pick({ cpus: 0.1, mem: 16 }).ok);
  assert.equal(pickResources(processOnly, { cpus: 0.1, mem: 16, image: true }).ok, false);
  const docker = offer("cpus:2;mem:1024", {
    attributes: [containerizersAttribute(["docker", "process"])],
  });
  assert.ok(new OfferPicker(docker).pick({ cpus: 0.1, mem: 16, image: true }).ok);
  // An agent that does not say is assumed to run images.
  assert.ok(new OfferPicker(offer("cpus:2;mem:1024")).pick({ cpus: 0.1, mem: 16, image: true }).ok);
});
