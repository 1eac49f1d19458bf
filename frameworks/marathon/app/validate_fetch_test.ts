import assert from "node:assert/strict";
import { checkApp } from "./parse.ts";

function details(raw: unknown): Record<string, string[]> {
  const r = checkApp(raw);
  assert.equal(r.ok, false, "expected a rejection");
  return r.ok ? {} : Object.fromEntries(r.details.map((d) => [d.path, d.errors]));
}

Deno.test("checkApp() refuses an unknown docker parameter at /container/docker/parameters(i)/key", () => {
  const got = details({
    id: "/web",
    container: {
      type: "DOCKER",
      docker: {
        image: "busybox",
        parameters: [{ key: "label", value: "a=b" }, { key: "oom-kill-disable", value: "true" }],
      },
    },
  });
  assert.deepEqual(Object.keys(got), ["/container/docker/parameters(1)/key"]);
  assert.match(got["/container/docker/parameters(1)/key"]![0]!, /supported: label, env/);
});

Deno.test("checkApp() refuses a docker parameter's bad value at .../value", () => {
  const got = details({
    id: "/web",
    container: {
      type: "DOCKER",
      docker: { image: "busybox", parameters: [{ key: "ulimit", value: "x" }] },
    },
  });
  assert.match(got["/container/docker/parameters(0)/value"]![0]!, /NAME=SOFT\[:HARD\]/);
});

Deno.test("checkApp() refuses fetch URIs the agents cannot fetch and destPaths leaving the sandbox", () => {
  const got = details({
    id: "/web",
    cmd: "sleep 100",
    fetch: [
      { uri: "hdfs://nn/app.tgz" },
      { uri: "https://example.com/app.tgz", destPath: "../../etc/cron.d/x" },
      { uri: "https://example.com/ok.tgz", destPath: "lib/ok.tgz" },
    ],
  });
  assert.match(got["/fetch(0)/uri"]![0]!, /not hdfs:/);
  assert.match(got["/fetch(1)/destPath"]![0]!, /relative path inside the sandbox/);
  assert.equal(got["/fetch(2)/destPath"], undefined);
});

Deno.test("checkApp() takes supported docker parameters and legacy uris", () => {
  const r = checkApp({
    id: "/web",
    cmd: "sleep 100",
    uris: ["https://example.com/app.tgz"],
    container: {
      type: "DOCKER",
      docker: { image: "busybox", parameters: [{ key: "label", value: "team=web" }] },
    },
  });
  assert.ok(r.ok);
});
