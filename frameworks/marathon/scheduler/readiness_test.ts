import assert from "node:assert/strict";
import { parseApp } from "../app/parse.ts";
import { instance } from "../deployment/testing.ts";
import { probeReadiness, readinessDue, readinessUrl } from "./readiness.ts";

const app = parseApp({
  id: "/api",
  cmd: "serve",
  portDefinitions: [{ port: 0, name: "admin" }, { port: 0, name: "http-api" }],
  readinessChecks: [{
    path: "ready",
    intervalSeconds: 5,
    timeoutSeconds: 2,
    httpStatusCodesForReady: [200, 204],
  }],
});

Deno.test("readinessUrl() targets the named port on the task's address", () => {
  const i = instance(app, { hostname: "agent-1", hostPorts: [31000, 31001] });
  assert.equal(readinessUrl(app, i), "http://agent-1:31001/ready");
  assert.equal(readinessUrl(app, { ...i, ipAddress: "10.0.0.5" }), "http://10.0.0.5:31001/ready");
  const bridged = parseApp({
    id: "/b",
    container: {
      docker: {
        image: "x",
        network: "BRIDGE",
        portMappings: [{ containerPort: 80, name: "http-api" }],
      },
    },
    readinessChecks: [{ protocol: "HTTPS" }],
  });
  assert.equal(
    readinessUrl(bridged, instance(bridged, { hostname: "h", hostPorts: [31500] })),
    "https://h:31500/",
  );
});

Deno.test("readinessDue() probes running, not-yet-ready instances once per interval", () => {
  const i = instance(app, { ready: undefined });
  assert.equal(readinessDue(app, i, 0), true);
  assert.equal(readinessDue(app, { ...i, readinessProbedAt: 0 }, 4_999), false);
  assert.equal(readinessDue(app, { ...i, readinessProbedAt: 0 }, 5_000), true);
  assert.equal(readinessDue(app, { ...i, ready: true }, 0), false);
  assert.equal(readinessDue(app, { ...i, condition: "Staging" }, 0), false);
});

Deno.test("probeReadiness() is true only for a ready status code", async () => {
  let status = 503;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    assert.equal(new URL(req.url).pathname, "/ready");
    return new Response(null, { status });
  });
  try {
    const i = instance(app, { hostname: "127.0.0.1", hostPorts: [1, server.addr.port] });
    assert.equal(await probeReadiness(app, i), false);
    status = 204;
    assert.equal(await probeReadiness(app, i), true);
    assert.equal(await probeReadiness(app, { ...i, hostPorts: [1, 1] }), false, "nothing listens");
  } finally {
    await server.shutdown();
  }
});
