import assert from "node:assert/strict";
import { startMarathon } from "../frameworks/marathon/mod.ts";
import { basicHeader, ClientSecurity, parseCredentials, ServerSecurity } from "../security/mod.ts";
import { startAutoscaler } from "./start_autoscaler.ts";

Deno.test("startAutoscaler() reads the apps of a Marathon that needs credentials with its client's; its own API needs credentials when given a file", async () => {
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
  const anonymous = await startAutoscaler({
    marathon: marathon.url,
    port: 0,
    intervalMs: 3_600_000,
  });
  const running = await startAutoscaler({
    marathon: marathon.url,
    port: 0,
    intervalMs: 3_600_000,
    client,
    security: new ServerSecurity({
      credentials: parseCredentials(
        JSON.stringify({ credentials: [{ principal: "ops", secret: "ops-secret" }] }),
      ),
    }),
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

    // Its own API, with a credentials file: all but /ping need them.
    const ping = await fetch(`${running.url}/ping`);
    assert.equal(ping.status, 200);
    await ping.body?.cancel();
    const status = await fetch(`${running.url}/status`);
    assert.equal(status.status, 401);
    assert.match(status.headers.get("www-authenticate") ?? "", /^Basic realm="autoscaler"/);
    await status.body?.cancel();
    const metrics = await fetch(`${running.url}/metrics`, {
      headers: { Authorization: basicHeader("ops", "ops-secret") },
    });
    assert.match(await metrics.text(), /^tender_http_unauthenticated_total 1$/m);
    const open = await fetch(`${anonymous.url}/status`);
    assert.equal(open.status, 200, "without a credentials file the API stays open");
    await open.body?.cancel();
  } finally {
    await running.stop();
    await anonymous.stop();
    await marathon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
