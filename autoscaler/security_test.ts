import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { ClientSecurity, parseCredentials, ServerSecurity } from "../security/mod.ts";
import { startAutoscaler } from "./start_autoscaler.ts";

Deno.test("startAutoscaler() reads the apps of a Marathon that needs credentials with its client's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "autoscaler-security-" });
  const marathon = await startMarathon({
    master: "http://127.0.0.1:1", // never reached: only the API is used
    port: 0,
    workDir: dir,
    security: new ServerSecurity({
      credentials: parseCredentials(
        JSON.stringify({ credentials: [{ principal: "scaler", secret: "scaler-secret" }] }),
      ),
    }),
  });
  const client = new ClientSecurity({ principal: "scaler", secret: "scaler-secret" });
  const anonymous = startAutoscaler({ marathon: marathon.url, port: 0, intervalMs: 3_600_000 });
  const running = startAutoscaler({
    marathon: marathon.url,
    port: 0,
    intervalMs: 3_600_000,
    client,
  });
  try {
    const created = await marathon.api.request("/v2/apps", {
      method: "POST",
      body: JSON.stringify({ id: "/web", cmd: "sleep 100", cpus: 0.1, mem: 16, instances: 0 }),
      headers: { Authorization: client.authorization! },
    });
    assert.equal(created.status, 201);
    // The pass of the autoscaler with the client sees the app; the anonymous one is refused.
    assert.deepEqual(await running.autoscaler.pass(), [], "read, nothing to scale");
    await assert.rejects(anonymous.autoscaler.pass(), /answered \/v2\/apps with 401/);
  } finally {
    await running.stop();
    await anonymous.stop();
    await marathon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
