/**
 * TLS end to end (issue 15, item 3): `deno task master` with a dev CA's certificate, credentials,
 * ACLs and the registry beside it; `docker login` and `docker push` to that registry over https
 * (Docker trusts the CA at /etc/docker/certs.d/HOST:PORT/ca.crt, which the test writes and
 * removes); an agent process and an SDK framework verifying the master with the CA; the agent's
 * Docker pulls the pushed image over https and runs it. Clients without the CA are refused with
 * a certificate error, and so is Docker before it trusts the CA.
 */
import assert from "node:assert/strict";
import { probeDocker } from "../agent/containerizer/docker.ts";
import { taskInfo } from "../mod.ts";
import type { TaskStatus } from "../protocol/mod.ts";
import { SchedulerDriver } from "../sdk/mod.ts";
import { ClientSecurity } from "../security/mod.ts";
import { makeCerts } from "./support/certs.ts";
import { freePort, TenderProcess, waitFor } from "./support/cluster.ts";
import { run } from "./registry_helpers.ts";

const dockerUp = await probeDocker("/var/run/docker.sock");
/**
 * Docker treats 127.0.0.0/8 as an insecure registry and skips verifying its certificate, so the
 * master and its registry listen on an address of this machine outside it (docker0's, usually).
 */
const HOST = Deno.networkInterfaces()
  .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  .sort((a, b) => Number(b.name === "docker0") - Number(a.name === "docker0"))[0]?.address;
const SECRETS = {
  master: "master-secret-81f2",
  agent: "agent-secret-c3d9",
  framework: "framework-secret-5e0a",
  pusher: "pusher-secret-9b77",
  ops: "ops-secret-2a64",
};

async function docker(args: string[], env: Record<string, string> = {}, stdin?: string) {
  const out = await run(
    ["docker", ...args],
    stdin === undefined ? undefined : new TextEncoder().encode(stdin),
    env,
  );
  return { ok: out.code === 0, text: `${out.stdout}${out.stderr}` };
}

Deno.test({
  name:
    "TLS end to end: master, its registry and an agent on https; docker push with credentials, the agent's Docker pulls it over TLS (needs Docker)",
  ignore: !dockerUp || HOST === undefined,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "tender-tls-e2e-" });
    const certs = await makeCerts(`${root}/certs`, [HOST!]);
    const ca = await Deno.readTextFile(certs.caCert);
    const registryPort = freePort();
    const registryHost = `${HOST}:${registryPort}`;
    const certsD = `/etc/docker/certs.d/${registryHost}`;
    const dockerConfig = `${root}/docker-config`;
    await Deno.mkdir(dockerConfig);
    const image = `${registryHost}/tls/busybox:1`;
    await Deno.writeTextFile(
      `${root}/credentials.json`,
      JSON.stringify({
        credentials: Object.entries(SECRETS).map(([principal, secret]) => ({ principal, secret })),
      }),
    );
    await Deno.writeTextFile(
      `${root}/acls.json`,
      JSON.stringify({
        push_images: [
          { principals: { values: ["pusher"] }, repositories: { values: ["tls"] } },
          { principals: { type: "ANY" }, repositories: { type: "NONE" } },
        ],
      }),
    );
    for (const [principal, secret] of Object.entries(SECRETS)) {
      await Deno.writeTextFile(`${root}/${principal}.secret`, `${secret}\n`, { mode: 0o600 });
    }
    const masterPort = freePort();
    const masterUrl = `https://${HOST}:${masterPort}`;
    const master = new TenderProcess("master", "master/main.ts", [
      "--host",
      HOST!,
      "--port",
      String(masterPort),
      "--work-dir",
      `${root}/master`,
      "--dns-port",
      "off",
      "--registry-port",
      String(registryPort),
      "--credentials",
      `${root}/credentials.json`,
      "--acls",
      `${root}/acls.json`,
      "--tls-cert",
      certs.cert,
      "--tls-key",
      certs.key,
      "--authenticate-frameworks",
      "--authenticate-agents",
      "--authenticate-http-readwrite",
      "--principal",
      "master",
      "--secret-file",
      `${root}/master.secret`,
      "--ca",
      certs.caCert,
    ]);
    const agent = new TenderProcess("agent", "agent/main.ts", [
      "--master",
      masterUrl,
      "--ca",
      certs.caCert,
      "--principal",
      "agent",
      "--secret-file",
      `${root}/agent.secret`,
      "--port",
      String(freePort()),
      "--hostname",
      "127.0.0.1",
      "--containerizer",
      "docker",
      "--resources",
      "cpus:2;mem:1024;ports:[31000-31010]",
      "--work-dir",
      `${root}/agent`,
    ]);
    const ops = new ClientSecurity({ principal: "ops", secret: SECRETS.ops, caCerts: [ca] });
    const statuses: TaskStatus[] = [];
    let driver: SchedulerDriver | undefined;
    try {
      master.start();
      await waitFor("the master and its registry on https", async () => {
        const [health, v2] = await Promise.all([
          ops.fetch(`${masterUrl}/health`).catch(() => undefined),
          ops.fetch(`https://${registryHost}/v2/`).catch(() => undefined),
        ]);
        await health?.body?.cancel();
        await v2?.body?.cancel();
        return health?.ok && v2?.ok;
      }, 60_000).catch((e) => {
        throw new Error(`${e}\n${master.log.join("")}`);
      });

      await t.step("a client without the CA is refused with a certificate error", async () => {
        for (const url of [`${masterUrl}/health`, `https://${registryHost}/v2/`]) {
          await assert.rejects(
            () => fetch(url),
            (e: Error) => /certificate|UnknownIssuer/i.test(`${e.message} ${e.cause}`),
          );
        }
      });

      await t.step("Docker refuses the registry until it trusts the CA", async () => {
        await Deno.remove(certsD, { recursive: true }).catch(() => {});
        const login = await docker(
          ["login", registryHost, "-u", "pusher", "--password-stdin"],
          { DOCKER_CONFIG: dockerConfig },
          SECRETS.pusher,
        );
        assert.equal(login.ok, false, login.text);
        assert.match(login.text, /x509|certificate/i);
      });

      await t.step("with the CA in certs.d: docker login and push over https", async () => {
        await Deno.mkdir(certsD, { recursive: true });
        await Deno.copyFile(certs.caCert, `${certsD}/ca.crt`);
        const env = { DOCKER_CONFIG: dockerConfig };
        const login = await docker(
          ["login", registryHost, "-u", "pusher", "--password-stdin"],
          env,
          SECRETS.pusher,
        );
        assert.ok(login.ok, login.text);
        assert.ok((await docker(["tag", "tender-busybox:latest", image])).ok);
        const push = await docker(["push", image], env);
        assert.ok(push.ok, push.text);
        // Pushing where the ACLs do not allow: DENIED, named.
        const other = `${registryHost}/elsewhere/busybox:1`;
        assert.ok((await docker(["tag", "tender-busybox:latest", other])).ok);
        const denied = await docker(["push", other], env);
        await docker(["rmi", other]);
        assert.equal(denied.ok, false);
        assert.match(denied.text, /denied|not authorized/i);
        assert.ok((await docker(["rmi", image])).ok, "only the registry has the image now");
      });

      await t.step(
        "an agent and a framework on https: the agent's Docker pulls the image over TLS",
        async () => {
          agent.start();
          driver = new SchedulerDriver({
            async offers(d, offers) {
              for (const offer of offers) {
                if (statuses.length > 0 || launched) {
                  await d.decline([offer.id.value], { refuse_seconds: 60 });
                  continue;
                }
                launched = true;
                await d.launch([offer.id.value], [taskInfo({
                  name: "pulled",
                  taskId: "pulled-1",
                  agentId: offer.agent_id.value,
                  cpus: 0.1,
                  mem: 32,
                  command: "echo pulled over tls",
                  docker: { image },
                })]);
              }
            },
            update: (_d, status) => void statuses.push(status),
          }, {
            master: masterUrl,
            framework: { user: "root", name: "tls-e2e", failover_timeout: 0 },
            security: new ClientSecurity({
              principal: "framework",
              secret: SECRETS.framework,
              caCerts: [ca],
            }),
          });
          let launched = false;
          await driver.start();
          await waitFor(
            "the task to finish",
            () => {
              const last = statuses.at(-1);
              if (last && ["TASK_FAILED", "TASK_ERROR", "TASK_LOST"].includes(last.state)) {
                throw new Error(`task ${last.state}: ${last.message}`);
              }
              return last?.state === "TASK_FINISHED";
            },
            120_000,
          );
          const images = await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
          assert.ok(images.text.includes(image), "the agent's Docker pulled it");
        },
      );

      await t.step(
        "the CLI with --ca and credentials; without --ca a certificate error",
        async () => {
          const tender = (...args: string[]) =>
            run(
              [Deno.execPath(), "run", "-A", "--unstable-kv", "cli/main.ts", ...args],
              undefined,
              { NO_COLOR: "1", TENDER_PRINCIPAL: "ops", TENDER_SECRET: SECRETS.ops },
            );
          const ok = await tender("--master", masterUrl, "--ca", certs.caCert, "agents", "--json");
          assert.equal(ok.code, 0, ok.stderr);
          assert.equal(JSON.parse(ok.stdout).length, 1);
          const images = await tender(
            "--registry",
            `https://${registryHost}`,
            "--ca",
            certs.caCert,
            "images",
            "list",
            "--json",
          );
          assert.equal(images.code, 0, images.stderr);
          assert.match(images.stdout, /tls\/busybox/);
          const refused = await tender("--master", masterUrl, "agents", "--json");
          assert.equal(refused.code, 1);
          assert.match(refused.stderr, /certificate/i);
        },
      );

      await t.step("no secret in the master's output, /master/state or /metrics", async () => {
        const state = await (await ops.fetch(`${masterUrl}/master/state`)).text();
        const metrics = await (await ops.fetch(`${masterUrl}/metrics`)).text();
        const logs = master.log.join("") + agent.log.join("");
        for (const secret of Object.values(SECRETS)) {
          for (const text of [state, metrics, logs]) assert.ok(!text.includes(secret));
        }
      });
    } finally {
      await driver?.stop({ teardown: true }).catch(() => {});
      await agent.kill("SIGTERM");
      await master.kill("SIGTERM");
      ops.close();
      await docker(["rmi", "-f", image]);
      await run(["sh", "-c", `docker ps -aq --filter name=pulled | xargs -r docker rm -f`]);
      await Deno.remove(certsD, { recursive: true }).catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
