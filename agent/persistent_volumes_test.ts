import assert from "node:assert/strict";
import type { Resource } from "../protocol/mod.ts";
import { Resources } from "../protocol/mod.ts";
import {
  agentTotal,
  loadCheckpointed,
  persistentVolumeMounts,
  saveCheckpointed,
  syncVolumeDirs,
  volumePath,
} from "./persistent_volumes.ts";

const volume = (id: string, role = "ads", path = "data"): Resource => ({
  name: "disk",
  type: "SCALAR",
  scalar: { value: 10 },
  reservations: [{ type: "DYNAMIC", role }],
  disk: { persistence: { id }, volume: { container_path: path, mode: "RW" } },
});

Deno.test("agentTotal() puts checkpointed resources in place of what they were made from", () => {
  const base = Resources.parse("cpus:2;mem:256;disk:100;cpus(ads):1");
  const checkpointed = Resources.fromMesos([
    { ...volume("v1") },
    {
      name: "cpus",
      type: "SCALAR",
      scalar: { value: 0.5 },
      reservations: [{ type: "DYNAMIC", role: "ads" }],
    },
  ]);
  const total = agentTotal(base, checkpointed);
  assert.equal(total.scalar("cpus"), 3);
  assert.equal(total.unreserved().scalar("cpus"), 1.5);
  assert.equal(total.unreserved().scalar("disk"), 90);
  assert.equal(total.reserved("ads").scalar("cpus"), 1.5, "static 1 + dynamic 0.5");
  assert.deepEqual(total.persistentVolumes().map((v) => v.id), ["v1"]);
  assert.throws(
    () => agentTotal(Resources.parse("cpus:2;mem:256;disk:5"), checkpointed),
    /--resources .* do not hold its checkpointed reservations and volumes/,
  );
});

Deno.test("syncVolumeDirs() makes new volumes' directories and removes destroyed ones", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "tender-volumes-" });
  try {
    const one = Resources.fromMesos([volume("v1"), volume("v2", "eng/web")]);
    await syncVolumeDirs(workDir, Resources.empty(), one);
    const v1 = volumePath(workDir, "ads", "v1");
    const v2 = volumePath(workDir, "eng/web", "v2");
    assert.equal(v2, `${workDir}/volumes/roles/eng%2Fweb/v2`, "a role is one path segment");
    await Deno.writeTextFile(`${v1}/kept`, "x");
    const again = await syncVolumeDirs(workDir, one, one);
    assert.deepEqual(again, [], "existing volumes are left alone");
    assert.equal(await Deno.readTextFile(`${v1}/kept`), "x");
    await syncVolumeDirs(workDir, one, Resources.fromMesos([volume("v2", "eng/web")]));
    await assert.rejects(() => Deno.stat(v1), Deno.errors.NotFound);
    assert.ok((await Deno.stat(v2)).isDirectory);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("persistentVolumeMounts() mounts each volume a task names at its container_path", () => {
  const mounts = persistentVolumeMounts("/w", {
    name: "t",
    task_id: { value: "t" },
    agent_id: { value: "a" },
    resources: [{ name: "cpus", type: "SCALAR", scalar: { value: 1 } }, volume("v1", "ads", "db")],
  });
  assert.deepEqual(mounts, [{
    hostPath: "/w/volumes/roles/ads/v1",
    containerPath: "db",
    readOnly: false,
  }]);
});

Deno.test("saveCheckpointed() and loadCheckpointed() round trip through the agent's KV", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    assert.ok((await loadCheckpointed(kv)).isEmpty());
    const checkpointed = Resources.fromMesos([volume("v1")]);
    await saveCheckpointed(kv, checkpointed);
    assert.ok((await loadCheckpointed(kv)).equals(checkpointed));
  } finally {
    kv.close();
  }
});
