import assert from "node:assert/strict";
import { parseApp } from "../app/parse.ts";
import { instance } from "../deployment/testing.ts";
import { readinessUrl } from "./readiness.ts";

Deno.test("readinessUrl() on a named container network probes the task's address there at the container port", () => {
  const app = parseApp({
    id: "/net",
    cmd: "serve",
    container: {
      type: "DOCKER",
      docker: { image: "x" },
      portMappings: [{ containerPort: 8080, hostPort: 0, name: "http-api" }],
    },
    networks: [{ mode: "container", name: "backend" }],
    readinessChecks: [{ path: "/ready" }],
  });
  const i = instance(app, { hostname: "agent-1", hostPorts: [31000], ipAddress: "172.20.0.2" });
  assert.equal(readinessUrl(app, i), "http://172.20.0.2:8080/ready");
});
