import assert from "node:assert/strict";
import { Resources, secretBytes, TaskInfoSchema } from "../../../protocol/mod.ts";
import { parseApp } from "./parse.ts";
import { toTaskInfo } from "./task_info.ts";

const match = {
  agentId: "agent-1",
  hostname: "node1",
  resources: Resources.scalars({ cpus: 0.5, mem: 64 }).toMesos(),
  hostPorts: [],
};

const app = parseApp({
  id: "/prod/api",
  cmd: "sleep 100",
  secrets: { db: { source: "prod/db" } },
  env: { DB_PASSWORD: { secret: "db" }, PLAIN: "x" },
  container: { type: "MESOS", volumes: [{ containerPath: "pw", secret: "db" }] },
});

Deno.test("toTaskInfo() gives an app's secrets as Mesos VALUE secrets in a variable and a volume", () => {
  const info = TaskInfoSchema.parse(
    toTaskInfo(app, "prod_api.instance-1", match, new Map([["/prod/db", "hunter2"]])),
  );
  const vars = info.command?.environment?.variables ?? [];
  const secretVar = vars.find((v) => v.name === "DB_PASSWORD");
  assert.equal(secretVar?.type, "SECRET");
  assert.equal(secretVar?.value, undefined);
  const fromVar = secretBytes(secretVar?.secret, "DB_PASSWORD");
  assert.ok(fromVar.ok);
  assert.equal(new TextDecoder().decode(fromVar.bytes), "hunter2");
  assert.equal(vars.find((v) => v.name === "PLAIN")?.value, "x");
  const volume = info.container?.volumes?.[0];
  assert.equal(volume?.container_path, "pw");
  assert.equal(volume?.mode, "RO");
  assert.equal(volume?.source?.type, "SECRET");
  const fromFile = secretBytes(volume?.source?.secret, "pw");
  assert.ok(fromFile.ok);
  assert.equal(new TextDecoder().decode(fromFile.bytes), "hunter2");
});

Deno.test("toTaskInfo() throws naming a secret it was not given the value of (never launches without)", () => {
  assert.throws(
    () => toTaskInfo(app, "prod_api.instance-1", match),
    /App '\/prod\/api': secret 'db' \(prod\/db\) has no value/,
  );
});
