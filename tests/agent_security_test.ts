/**
 * The master over TLS with authentication on, an agent as a real process (authenticating to the
 * master, verifying it with the CA, serving its own API over TLS with credentials required),
 * and an SDK framework verifying the master with the CA: a task runs, its output comes through
 * the master's log proxy (the master calls the agent with its own credentials and CA), and a
 * client without the CA is refused.
 */
import assert from "node:assert/strict";
import type { TaskInfo, TaskStatus } from "../protocol/mod.ts";
import { Resources } from "../protocol/mod.ts";
import { startMaster } from "../master/mod.ts";
import { SchedulerDriver } from "../sdk/mod.ts";
import { MasterClient } from "../sdk/master_client.ts";
import { ClientSecurity, parseCredentials, ServerSecurity } from "../security/mod.ts";
import { freePort, killProcessTasks, TenderProcess, waitFor } from "./support/cluster.ts";
import { makeCerts } from "./support/certs.ts";

const CREDENTIALS = {
  credentials: [
    { principal: "framework", secret: "framework-secret" },
    { principal: "agent", secret: "agent-secret" },
    { principal: "master", secret: "master-secret" },
    { principal: "ops", secret: "ops-secret" },
  ],
};

Deno.test("TLS and authentication: agent process and SDK framework verify the master with the CA; the log proxy reaches the agent over https", async () => {
  const root = await Deno.makeTempDir({ prefix: "tender-tls-" });
  const certs = await makeCerts(`${root}/certs`);
  const ca = await Deno.readTextFile(certs.caCert);
  await Deno.writeTextFile(`${root}/credentials.json`, JSON.stringify(CREDENTIALS));
  await Deno.writeTextFile(`${root}/agent-secret`, "agent-secret\n", { mode: 0o600 });
  const master = await startMaster({
    port: 0,
    workDir: `${root}/master`,
    security: new ServerSecurity({ credentials: parseCredentials(JSON.stringify(CREDENTIALS)) }),
    authenticate: { frameworks: true, agents: true, httpReadonly: true, httpReadwrite: true },
    tls: {
      cert: await Deno.readTextFile(certs.cert),
      key: await Deno.readTextFile(certs.key),
    },
    client: new ClientSecurity({ principal: "master", secret: "master-secret", caCerts: [ca] }),
    heartbeatIntervalMs: 1000,
  });
  const trusted = new ClientSecurity({ principal: "ops", secret: "ops-secret", caCerts: [ca] });
  const agentPort = freePort();
  const agent = new TenderProcess("agent", "agent/main.ts", [
    "--master",
    master.url,
    "--ca",
    certs.caCert,
    "--principal",
    "agent",
    "--secret-file",
    `${root}/agent-secret`,
    "--credentials",
    `${root}/credentials.json`,
    "--authenticate-http-readonly",
    "--tls-cert",
    certs.cert,
    "--tls-key",
    certs.key,
    "--port",
    String(agentPort),
    "--host",
    "127.0.0.1",
    "--advertise-ip",
    "127.0.0.1",
    "--hostname",
    "127.0.0.1",
    "--containerizer",
    "process",
    "--resources",
    "cpus:2;mem:1024;ports:[31000-31010]",
    "--work-dir",
    `${root}/agent`,
  ]);
  const statuses: TaskStatus[] = [];
  let launched = false;
  const user = Deno.env.get("USER") || "root";
  const driver = new SchedulerDriver({
    async offers(d, offers) {
      for (const offer of offers) {
        if (launched) {
          await d.decline([offer.id.value], { refuse_seconds: 60 });
          continue;
        }
        launched = true;
        const task: TaskInfo = {
          name: "hello",
          task_id: { value: "hello.1" },
          agent_id: offer.agent_id,
          resources: Resources.parse("cpus:0.1;mem:32").toMesos(),
          command: { value: "echo hello over tls; sleep 600" },
        };
        await d.launch([offer.id.value], [task]);
      }
    },
    update: (_d, status) => void statuses.push(status),
  }, {
    master: master.url,
    framework: { user, name: "tls-framework", failover_timeout: 0 },
    security: new ClientSecurity({
      principal: "framework",
      secret: "framework-secret",
      caCerts: [ca],
    }),
  });
  try {
    assert.match(master.url, /^https:\/\//);
    agent.start();
    const agentId = await waitFor("the agent to register over TLS", async () => {
      const r = await trusted.fetch(`${master.url}/master/state`);
      const state = await r.json();
      const slave = state.slaves?.find((s: { active: boolean }) => s.active);
      return slave?.id as string | undefined;
    }, 30_000);
    await driver.start();
    await waitFor(
      "the task to run",
      () => statuses.some((s) => s.state === "TASK_RUNNING"),
      30_000,
    );
    const state = await (await trusted.fetch(`${master.url}/master/state`)).json();
    assert.equal(state.frameworks[0].principal, "framework");

    // The agent's API: TLS, credentials required but on /health, and its 401s counted.
    const agentUrl = `https://127.0.0.1:${agentPort}`;
    const anonymous = new ClientSecurity({ caCerts: [ca] });
    const refused = await anonymous.fetch(`${agentUrl}/state`);
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("WWW-Authenticate") ?? "", /realm="mesos-agent"/);
    const health = await anonymous.fetch(`${agentUrl}/health`);
    assert.equal(health.status, 200, await health.text());
    const metrics = await (await trusted.fetch(`${agentUrl}/metrics`)).text();
    assert.match(metrics, /tender_http_unauthenticated_total [1-9]/);

    // The log proxy: the browser's credentials at the master, the master's at the agent.
    const logs = await waitFor("the task's output through the master", async () => {
      const r = await trusted.fetch(
        `${master.url}/dashboard/logs/${agentId}/hello.1?stream=stdout`,
      );
      const text = await r.text();
      return r.ok && text.includes("hello over tls") ? r : undefined;
    });
    assert.match(logs.headers.get("X-Tender-Agent-Url") ?? "", /^https:\/\/127\.0\.0\.1:/);
    const noCredentials = await anonymous.fetch(
      `${master.url}/dashboard/logs/${agentId}/hello.1`,
    );
    await noCredentials.body?.cancel();
    assert.equal(noCredentials.status, 401);

    // Without the CA, neither a plain client nor the SDK gets through.
    await assert.rejects(
      () => fetch(`${master.url}/health`),
      (e: Error) => /certificate|UnknownIssuer/i.test(`${e.message} ${e.cause}`),
    );
    const untrusting = new MasterClient(master.url, {
      security: new ClientSecurity({ principal: "framework", secret: "framework-secret" }),
    });
    await assert.rejects(
      () =>
        untrusting.post({
          type: "SUBSCRIBE",
          subscribe: { framework_info: { user, name: "x" } },
        }, { signal: AbortSignal.timeout(10_000) }),
      /certificate|UnknownIssuer/i,
    );
  } finally {
    await driver.stop();
    await agent.kill("SIGKILL");
    await master.stop();
    await killProcessTasks(root);
    trusted.close();
    await Deno.remove(root, { recursive: true });
  }
});
