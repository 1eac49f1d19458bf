import assert from "node:assert/strict";
import { secretBytes } from "../../../protocol/mod.ts";
import { withApi } from "../api/testing.ts";
import { importSecretsKey } from "../secrets/secret_store.ts";
import { PodSchema } from "./schema.ts";
import { toTaskGroup } from "./task_group.ts";

const VALUE = "p0d-s3cret-61aa";

/** A pod whose container gets the secret `/prod/db` as a variable and as a file. */
function securePod(id = "/prod/pod", source = "/prod/db"): Record<string, unknown> {
  return {
    id,
    secrets: { db: { source } },
    environment: { DB: { secret: "db" }, PLAIN: "p" },
    containers: [{
      name: "app",
      exec: { command: { shell: "sleep 100" } },
      resources: { cpus: 0.1, mem: 16 },
      volumeMounts: [{ name: "pw", mountPath: "pw" }],
    }],
    volumes: [{ name: "pw", secret: "db" }],
  };
}

Deno.test("toTaskGroup() gives a pod's secrets as Mesos VALUE secrets in a variable and a volume", () => {
  const pod = PodSchema.parse(securePod());
  const { tasks } = toTaskGroup(pod, "instance-1", {
    agentId: "agent-1",
    hostname: "h",
    containers: [[]],
    executor: [],
    hostPorts: [[]],
  }, new Map([["/prod/db", VALUE]]));
  const vars = tasks[0]?.command?.environment?.variables ?? [];
  const db = vars.find((v) => v.name === "DB");
  assert.equal(db?.type, "SECRET");
  const fromVar = secretBytes(db?.secret, "DB");
  assert.ok(fromVar.ok && new TextDecoder().decode(fromVar.bytes) === VALUE);
  assert.equal(vars.find((v) => v.name === "PLAIN")?.value, "p");
  const volume = tasks[0]?.container?.volumes?.[0];
  assert.equal(volume?.container_path, "pw");
  assert.equal(volume?.mode, "RO");
  const fromFile = secretBytes(volume?.source?.secret, "pw");
  assert.ok(fromFile.ok && new TextDecoder().decode(fromFile.bytes) === VALUE);
  assert.throws(
    () =>
      toTaskGroup(pod, "i", {
        agentId: "a",
        hostname: "h",
        containers: [[]],
        executor: [],
        hostPorts: [[]],
      }),
    /Pod '\/prod\/pod': secret 'db' \(\/prod\/db\) has no value/,
  );
});

Deno.test("/v2/pods: a pod's secrets must be declared, exist and lie in its space; it shows references only", async () => {
  await withApi(async ({ request }) => {
    const post = (json: unknown) => request("/v2/pods", { method: "POST", json });
    const undeclared = await post({ ...securePod(), secrets: {} });
    assert.equal(undeclared.status, 422);
    const paths = (await undeclared.json()).details.map((d: { path: string }) => d.path);
    assert.deepEqual(paths.sort(), ["/environment/DB", "/volumes(0)/secret"]);

    const missing = await post(securePod());
    assert.equal(missing.status, 422);
    assert.deepEqual((await missing.json()).details, [
      { path: "/secrets/db/source", errors: ["secret '/prod/db' does not exist"] },
    ]);
    const put = await request("/v2/secrets/prod/db", { method: "PUT", json: { value: VALUE } });
    await put.body?.cancel();
    const outside = await post(securePod("/web/pod"));
    assert.equal(outside.status, 422);
    await outside.body?.cancel();
    const created = await post(securePod());
    assert.equal(created.status, 201, await created.clone().text());
    await created.body?.cancel();
    const shown = await (await request("/v2/pods")).text();
    assert.ok(shown.includes('"source":"/prod/db"') && !shown.includes(VALUE), shown);
    const used = await request("/v2/secrets/prod/db", { method: "DELETE" });
    assert.equal(used.status, 409);
    assert.match((await used.json()).message, /used by '\/prod\/pod'/);
  }, { secretsKey: await importSecretsKey("ef".repeat(32)) });
});
