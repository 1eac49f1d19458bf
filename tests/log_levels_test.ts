/**
 * The `main.ts` of the master and the agent as real processes: quiet (no stderr) at the
 * default level, JSON lines on stderr at `--log-level info` or `TENDER_LOG_LEVEL=info`, the
 * listening line on stdout either way, exit 2 on an unknown level.
 */
import assert from "node:assert/strict";
import { waitFor } from "./support/cluster.ts";

interface Spawned {
  child: Deno.ChildProcess;
  stdout: string[];
  stderr: string[];
  done: Promise<void>;
}

function spawn(script: string, args: string[], env: Record<string, string> = {}): Spawned {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", script, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env,
  }).spawn();
  const stdout: string[] = [], stderr: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      into.push(...lines);
    }
    if (rest) into.push(rest);
  };
  const done = Promise.all([collect(child.stdout, stdout), collect(child.stderr, stderr)]).then(
    () => {},
  );
  return { child, stdout, stderr, done };
}

async function stop(p: Spawned): Promise<void> {
  try {
    p.child.kill("SIGTERM");
  } catch { /* gone */ }
  await p.child.status;
  await p.done;
}

function listening(p: Spawned, msg: string): Promise<Record<string, string>> {
  return waitFor(`"${msg}" on stdout`, () => {
    for (const line of p.stdout) {
      const parsed = line.startsWith("{") ? JSON.parse(line) : undefined;
      if (parsed?.msg === msg) return parsed;
    }
    return undefined;
  }, 30_000);
}

Deno.test("master and agent main.ts: quiet by default, JSON logs at info, listening line always", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tender-log-levels-" });
  const masterArgs = (name: string) => [
    "--port",
    "0",
    "--dns-port",
    "off",
    "--registry-port",
    "off",
    "--work-dir",
    `${dir}/${name}`,
  ];
  const started: Spawned[] = [];
  try {
    await t.step("the default level writes nothing on stderr", async () => {
      const master = spawn("master/main.ts", masterArgs("quiet"));
      started.push(master);
      const line = await listening(master, "master listening");
      const agent = spawn("agent/main.ts", [
        "--master",
        line.url!,
        "--port",
        "0",
        "--work-dir",
        `${dir}/quiet-agent`,
        "--containerizer",
        "process",
        "--resources",
        "cpus:1;mem:128;ports:[31990-31991]",
      ]);
      started.push(agent);
      const a = await listening(agent, "agent listening");
      assert.equal(a.containerizer, "process");
      await stop(agent);
      await stop(master);
      assert.deepEqual(master.stderr, []);
      assert.deepEqual(agent.stderr, []);
    });

    await t.step("--log-level info and TENDER_LOG_LEVEL=info write JSON lines", async () => {
      const master = spawn("master/main.ts", [...masterArgs("loud"), "--log-level", "info"]);
      started.push(master);
      const line = await listening(master, "master listening");
      const agent = spawn("agent/main.ts", [
        "--master",
        line.url!,
        "--port",
        "0",
        "--work-dir",
        `${dir}/loud-agent`,
        "--containerizer",
        "process",
        "--resources",
        "cpus:1;mem:128;ports:[31992-31993]",
      ], { TENDER_LOG_LEVEL: "info" });
      started.push(agent);
      await listening(agent, "agent listening");
      const records = () => agent.stderr.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      await waitFor(
        "the agent's subscription logged",
        () => records().some((r) => r.msg.startsWith("Subscribed to master")),
      );
      const using = records().find((r) => r.msg.startsWith("Using the process containerizer"));
      assert.equal(using?.level, "info");
      assert.equal(using?.component, "agent");
      assert.ok(!Number.isNaN(Date.parse(using.ts)));
      await stop(agent);
      await stop(master);
      const m = master.stderr.map((l) => JSON.parse(l));
      assert.ok(m.some((r) => r.msg === "master started" && r.component === "master"));
      assert.ok(m.some((r) => r.msg === "stopping" && r.signal === "SIGTERM"));
    });

    await t.step("an unknown level exits 2 and names the flag's value", async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-kv", "master/main.ts", "--log-level", "loud"],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 2);
      assert.match(new TextDecoder().decode(out.stderr), /invalid log level "loud"/);
    });
  } finally {
    for (const p of started) await stop(p);
    await Deno.remove(dir, { recursive: true });
  }
});
