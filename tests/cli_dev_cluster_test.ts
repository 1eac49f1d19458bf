/**
 * The CLI against `deno task dev` (dev.ts as a child process on free ports, process
 * containerizer), as a person runs them side by side: a framework runs tasks, the CLI shows
 * the cluster and their output, pushes an image and collects the registry's garbage.
 */
import assert from "node:assert/strict";
import { freePort, waitFor } from "./support/cluster.ts";
import { mustRun, run } from "./registry_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("tender CLI against a dev cluster (deno task dev)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tender-dev-cli-" });
  const [masterPort, agentPort, registryPort, marathonPort, routerPort, dnsPort] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  const dev = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      `${ROOT}dev.ts`,
      "--work-dir",
      dir,
      "--master-port",
      String(masterPort),
      "--agent-port",
      String(agentPort),
      "--registry-port",
      String(registryPort),
      "--marathon-port",
      String(marathonPort),
      "--router-port",
      String(routerPort),
      "--dns-port",
      String(dnsPort),
      "--containerizer",
      "process",
      "--resources",
      "cpus:2;mem:1024;disk:1024;ports:[31000-31009]",
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const output: string[] = [];
  const drain = Promise.all([dev.stdout, dev.stderr].map(async (s) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) output.push(chunk);
  }));
  const env = {
    TENDER_MASTER: `http://127.0.0.1:${masterPort}`,
    TENDER_REGISTRY: `http://127.0.0.1:${registryPort}`,
    TENDER_MARATHON: `http://127.0.0.1:${marathonPort}`,
    NO_COLOR: "1",
  };
  let framework: Deno.ChildProcess | undefined;
  const tender = (...args: string[]) =>
    run([Deno.execPath(), "run", "-A", `${ROOT}cli/main.ts`, ...args], undefined, env);
  try {
    await waitFor("the dev cluster", async () => {
      const r = await tender("agents", "list", "--json");
      return r.code === 0 && JSON.parse(r.stdout).length === 1;
    }, 60_000).catch((e) => {
      throw new Error(`${e}\n${output.join("")}`);
    });

    await t.step("a framework's tasks show up, and their output", async () => {
      framework = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}examples/hello-framework.ts`,
          "--master",
          env.TENDER_MASTER,
          "--tasks",
          "2",
          "--cmd",
          "echo hello from $MESOS_TASK_ID; sleep 60",
        ],
        stdout: "null",
        stderr: "null",
        stdin: "null",
      }).spawn();
      const running = await waitFor("two running tasks", async () => {
        const r = await tender("tasks", "list", "--state", "running", "--json");
        const list = r.code === 0 ? JSON.parse(r.stdout) : [];
        return list.length === 2 && list;
      }, 30_000);
      const id: string = running[0].id;
      const logs = await waitFor("the task's output", async () => {
        const r = await tender("logs", id);
        return r.code === 0 && r.stdout !== "" && r;
      });
      assert.equal(logs.stdout, `hello from ${id}\n`);
      const status = await tender("status");
      assert.match(status.stdout, /^Agents:\s+1 active/m);
      assert.match(status.stdout, /^Tasks:\s+2 TASK_RUNNING$/m);
      const frameworks = await tender("frameworks");
      assert.match(frameworks.stdout, /\shello\S*\s+\*\s+yes\s+2\s/);
    });

    await t.step(
      "apps: add from a file and watch it deploy, scale, read logs, remove",
      async () => {
        await Deno.writeTextFile(
          `${dir}/worker.yaml`,
          "id: /worker\ncmd: echo up; while true; do echo beat; sleep 0.5; done\n" +
            "instances: 1\ncpus: 0.1\nmem: 16\n",
        );
        const added = await tender("apps", "add", `${dir}/worker.yaml`, "--wait");
        assert.equal(added.code, 0, added.stderr);
        assert.match(added.stdout, /^App \/worker submitted; deployment [0-9a-f-]+ done\.$/m);
        assert.match(added.stderr, /\[[#-]{24}\]\s+\d+% step/); // the progress bar
        const scaled = await tender("apps", "scale", "worker", "2", "--wait");
        assert.equal(scaled.code, 0, scaled.stderr);
        const list = await tender("apps", "list");
        assert.match(list.stdout, /^\/worker\s+running\s+2\/2\s/m);
        await waitFor("both replicas' output", async () => {
          const r = await tender("logs", "--app", "/worker");
          return r.code === 0 &&
            new Set([...r.stdout.matchAll(/^(\S+)\s+\| up$/gm)].map((m) => m[1])).size === 2;
        });
        const removed = await tender("apps", "remove", "/worker", "--wait");
        assert.equal(removed.code, 0, removed.stderr);
        const none = await tender("apps", "list");
        assert.match(none.stdout, /^No apps\./);
      },
    );

    await t.step("an image pushed without Docker is listed, and gc keeps it", async () => {
      await Deno.mkdir(`${dir}/img/root`, { recursive: true });
      await Deno.writeTextFile(`${dir}/img/root/file`, "x\n");
      await mustRun(["tar", "-C", `${dir}/img/root`, "-cf", `${dir}/img/layer.tar`, "."]);
      await Deno.writeTextFile(`${dir}/img/config.json`, JSON.stringify({ os: "linux" }));
      await Deno.writeTextFile(
        `${dir}/img/manifest.json`,
        JSON.stringify([{ Config: "config.json", RepoTags: ["x:1"], Layers: ["layer.tar"] }]),
      );
      // An unpacked `docker save` directory pushes as well as its tar.
      const fromDir = await tender("images", "push", `${dir}/img`, "dev/x:0");
      assert.equal(fromDir.code, 0, fromDir.stderr);
      await mustRun([
        "tar",
        "-C",
        `${dir}/img`,
        "-cf",
        `${dir}/x.tar`,
        "manifest.json",
        "config.json",
        "layer.tar",
      ]);
      const pushed = await tender("images", "push", `${dir}/x.tar`, "dev/x:1");
      assert.equal(pushed.code, 0, pushed.stderr);
      const list = await tender("images");
      assert.equal(list.stdout, "REPOSITORY  TAGS\ndev/x       0, 1\n");
      const gc = await tender("registry", "gc", "--json");
      assert.equal(JSON.parse(gc.stdout).blobsDeleted, 0);
    });
  } finally {
    if (framework) {
      framework.kill("SIGKILL");
      await framework.status;
    }
    dev.kill("SIGINT");
    await dev.status;
    await drain;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
