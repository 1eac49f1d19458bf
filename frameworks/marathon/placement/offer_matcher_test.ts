import assert from "node:assert/strict";
import {
  containerizersAttribute,
  type Offer,
  OfferSchema,
  Resources,
} from "../../../protocol/mod.ts";
import { parseApp } from "../app/parse.ts";
import { pickHostPorts } from "./host_ports.ts";
import { matchOffer, offerSite, spreadOrder } from "./offer_matcher.ts";

function offer(hostname: string, resources: string, attributes: Offer["attributes"] = []): Offer {
  return OfferSchema.parse({
    id: { value: `o-${hostname}` },
    framework_id: { value: "f" },
    agent_id: { value: `a-${hostname}` },
    hostname,
    resources: Resources.parse(resources).toMesos(),
    attributes,
  });
}

const BIG = "cpus:4;mem:4096;disk:1000;ports:[31000-31009]";

Deno.test("matchOffer() takes the app's resources and a host port", () => {
  const app = parseApp({ id: "web", cmd: "serve", cpus: 0.5, mem: 64 });
  const fit = matchOffer(app, offer("n1", BIG), []);
  assert.ok(fit.ok);
  assert.deepEqual(fit.hostPorts, [31000]);
  const took = Resources.fromMesos(fit.resources);
  assert.equal(took.scalar("cpus"), 0.5);
  assert.equal(took.scalar("mem"), 64);
  assert.equal(took.scalar("disk"), 0);
  assert.deepEqual(took.ranges("ports"), [{ begin: 31000, end: 31000 }]);
});

Deno.test("matchOffer() names the missing resource", () => {
  const app = parseApp({ id: "web", cmd: "serve", cpus: 1, mem: 512, disk: 10 });
  const cases: [string, string][] = [
    ["cpus:0.5;mem:4096;disk:100;ports:[31000-31001]", "InsufficientCpus"],
    ["cpus:2;mem:128;disk:100;ports:[31000-31001]", "InsufficientMemory"],
    ["cpus:2;mem:4096;disk:1;ports:[31000-31001]", "InsufficientDisk"],
    ["cpus:2;mem:4096;disk:100", "InsufficientPorts"],
  ];
  for (const [res, reason] of cases) {
    const fit = matchOffer(app, offer("n1", res), []);
    assert.ok(!fit.ok && fit.reason.startsWith(reason), `${res}: ${JSON.stringify(fit)}`);
  }
});

Deno.test("matchOffer() honours requirePorts and fixed bridge host ports", () => {
  const fixed = parseApp({
    id: "p",
    cmd: "serve",
    requirePorts: true,
    portDefinitions: [{ port: 31005 }],
  });
  const fit = matchOffer(fixed, offer("n1", BIG), []);
  assert.ok(fit.ok);
  assert.deepEqual(fit.hostPorts, [31005]);
  const outside = parseApp({
    id: "p",
    cmd: "serve",
    requirePorts: true,
    portDefinitions: [{ port: 7777 }],
  });
  assert.ok(!matchOffer(outside, offer("n1", BIG), []).ok);
  const notRequired = parseApp({ id: "p", cmd: "serve", portDefinitions: [{ port: 7777 }] });
  assert.ok(
    matchOffer(notRequired, offer("n1", BIG), []).ok,
    "without requirePorts 7777 is a service port",
  );
  const bridge = parseApp({
    id: "b",
    container: {
      docker: {
        image: "x",
        network: "BRIDGE",
        portMappings: [{ containerPort: 80, hostPort: 31009 }, { containerPort: 81 }],
      },
    },
  });
  const b = matchOffer(bridge, offer("n1", BIG), []);
  assert.ok(b.ok);
  assert.deepEqual(b.hostPorts, [31009, 31000]);
});

Deno.test("matchOffer() applies constraints and accepted roles", () => {
  const app = parseApp({ id: "u", cmd: "serve", constraints: [["hostname", "UNIQUE"]] });
  const o = offer("n1", BIG);
  assert.ok(matchOffer(app, o, [offerSite(offer("n2", BIG))]).ok);
  const no = matchOffer(app, o, [offerSite(o)]);
  assert.ok(!no.ok && no.reason.startsWith("UnfulfilledConstraint"));
  const roles = parseApp({ id: "r", cmd: "serve", acceptedResourceRoles: ["slave_public"] });
  const r = matchOffer(roles, o, []);
  assert.ok(!r.ok && r.reason.startsWith("UnfulfilledRole"));
  const star = parseApp({ id: "r", cmd: "serve", acceptedResourceRoles: ["*"] });
  assert.ok(matchOffer(star, o, []).ok);
});

Deno.test("pickHostPorts() picks lowest free ports and rejects missing fixed ones", () => {
  assert.deepEqual(pickHostPorts([0, 31001, 0], [{ begin: 31000, end: 31003 }]), {
    ok: true,
    ports: [31000, 31001, 31002],
  });
  assert.ok(!pickHostPorts([0, 0], [{ begin: 31000, end: 31000 }]).ok);
  assert.ok(!pickHostPorts([5, 5], [{ begin: 1, end: 10 }]).ok);
  assert.deepEqual(pickHostPorts([], []), { ok: true, ports: [] });
});

Deno.test("spreadOrder() prefers hostnames with the fewest instances", () => {
  const offers = [offer("n1", BIG), offer("n2", BIG), offer("n3", BIG)];
  const placed = [offerSite(offers[0]!), offerSite(offers[0]!), offerSite(offers[1]!)];
  assert.deepEqual(spreadOrder(offers, placed).map((o) => o.hostname), ["n3", "n2", "n1"]);
  assert.deepEqual(spreadOrder(offers, []).map((o) => o.hostname), ["n1", "n2", "n3"]);
});

Deno.test("matchOffer() places an app with an image only where a containerizer runs images", () => {
  const imaged = parseApp({
    id: "imaged",
    cmd: "serve",
    cpus: 0.1,
    mem: 16,
    container: { type: "DOCKER", docker: { image: "busybox" } },
  });
  const processOnly = offer("p1", BIG, [containerizersAttribute(["process"])]);
  const fit = matchOffer(imaged, processOnly, []);
  assert.equal(fit.ok, false);
  assert.match(!fit.ok ? fit.reason : "", /^UnfulfilledContainerizer: .*containerizers: process/);
  assert.ok(
    matchOffer(imaged, offer("d1", BIG, [containerizersAttribute(["docker", "process"])]), []).ok,
  );
  assert.ok(matchOffer(imaged, offer("c1", BIG, [containerizersAttribute(["containerd"])]), []).ok);
  // An agent that does not say is assumed to run images, as before the attribute.
  assert.ok(matchOffer(imaged, offer("old", BIG), []).ok);
  // Commands run anywhere.
  const command = parseApp({ id: "cmd", cmd: "serve", cpus: 0.1, mem: 16 });
  assert.ok(matchOffer(command, processOnly, []).ok);
});
