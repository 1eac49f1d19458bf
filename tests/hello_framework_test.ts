/**
 * examples/hello-framework.ts as a child process: against the SDK's fake master (its
 * protocol behaviour, step by step), and against a real master and agent (end to end).
 */
import assert from "node:assert/strict";
import type { Call, Event, Offer, TaskState } from "../mod.ts";
import { FakeSchedulerMaster } from "../sdk/testing/fake_scheduler_master.ts";
import { Cluster, waitFor } from "./support/cluster.ts";

const EXAMPLE = new URL("../examples/hello-framework.ts", import.meta.url).pathname;

/** The example running as a child process, its output collected line by line. */
class ExampleRun {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<void>;

  constructor(args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", EXAMPLE, ...args],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        this.lines.push(...parts);
      }
      if (rest) this.lines.push(rest);
    };
    this.#output = Promise.all([collect(this.#child.stdout), collect(this.#child.stderr)]).then(
      () => {},
    );
  }

  /** Waits for the exit (killing the child after `timeoutMs`) and returns its code. */
  async exit(timeoutMs: number): Promise<number> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      const status = await this.#child.status;
      await this.#output;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  /** The states printed for a task, in order. */
  states(taskId: string): string[] {
    return this.lines.flatMap((l) => {
      const m = /^task (\S+) (TASK_[A-Z_]+)/.exec(l);
      return m && m[1] === taskId ? [m[2]!] : [];
    });
  }
}

function offer(n: number, cpus: number, mem: number): Offer {
  return {
    id: { value: `o-${n}` },
    framework_id: { value: "fake-master-0001" },
    agent_id: { value: `a-${n}` },
    hostname: `node${n}`,
    resources: [
      { name: "cpus", type: "SCALAR", scalar: { value: cpus } },
      { name: "mem", type: "SCALAR", scalar: { value: mem } },
    ],
    attributes: [],
    executor_ids: [],
  };
}

function update(taskId: string, agentId: string, state: TaskState, uuid: string): Event {
  return {
    type: "UPDATE",
    update: { status: { task_id: { value: taskId }, agent_id: { value: agentId }, state, uuid } },
  };
}

function launchedTasks(call: Call | undefined): string[] {
  if (call?.type !== "ACCEPT") return [];
  return call.accept.operations.flatMap((op) => op.launch?.task_infos ?? []).map((t) =>
    t.task_id.value
  );
}

Deno.test("hello-framework packs tasks into offers, declines leftovers, acks, and tears down", async () => {
  const master = FakeSchedulerMaster.start();
  const run = new ExampleRun(["--master", master.url, "--tasks", "3", "--cmd", "echo hi"]);
  try {
    await master.waitFor(() => master.streamId, { timeoutMs: 30_000, what: "SUBSCRIBE" });
    // 0.25 cpus hold two tasks of 0.1 cpus; the second offer takes the third task
    master.send({
      type: "OFFERS",
      offers: { offers: [offer(1, 0.25, 100), offer(2, 4, 4096)] },
    });
    await master.waitFor(() => master.callsOf("SUPPRESS")[0], { what: "SUPPRESS" });
    const accepts = master.callsOf("ACCEPT");
    assert.deepEqual(accepts.map((a) => launchedTasks(a.call)), [
      ["hello-1", "hello-2"],
      ["hello-3"],
    ]);
    const first = accepts[0]?.call;
    assert.equal(first?.type, "ACCEPT");
    if (first?.type === "ACCEPT") {
      assert.deepEqual(first.accept.operations[0]?.launch?.task_infos[0]?.command, {
        shell: true,
        value: "echo hi",
      });
    }
    master.send({ type: "OFFERS", offers: { offers: [offer(3, 1, 512)] } });
    const decline = await master.waitFor(() => master.callsOf("DECLINE")[0], { what: "DECLINE" });
    assert.deepEqual(decline.call, {
      type: "DECLINE",
      framework_id: { value: "fake-master-0001" },
      decline: { offer_ids: [{ value: "o-3" }], filters: { refuse_seconds: 60 } },
    });
    let n = 0;
    for (const state of ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"] as const) {
      for (
        const [taskId, agentId] of [["hello-1", "a-1"], ["hello-2", "a-1"], ["hello-3", "a-2"]]
      ) {
        master.send(update(taskId!, agentId!, state, btoa(`uuid-${++n}`)));
      }
    }
    assert.equal(await run.exit(30_000), 0);
    for (const taskId of ["hello-1", "hello-2", "hello-3"]) {
      assert.deepEqual(run.states(taskId), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);
    }
    assert.equal(master.callsOf("ACKNOWLEDGE").length, 9);
    assert.equal(master.calls.at(-1)?.type, "TEARDOWN");
  } finally {
    run.kill();
    await run.exit(10_000);
    await master.close();
  }
});

Deno.test("hello-framework exits non-zero when a task fails", async () => {
  const master = FakeSchedulerMaster.start();
  const run = new ExampleRun(["--master", master.url, "--tasks", "1"]);
  try {
    await master.waitFor(() => master.streamId, { timeoutMs: 30_000, what: "SUBSCRIBE" });
    master.send({ type: "OFFERS", offers: { offers: [offer(1, 1, 128)] } });
    await master.waitFor(() => master.callsOf("ACCEPT")[0], { what: "ACCEPT" });
    master.send(update("hello-1", "a-1", "TASK_FAILED", btoa("u")));
    assert.equal(await run.exit(30_000), 1);
    assert.deepEqual(run.states("hello-1"), ["TASK_FAILED"]);
  } finally {
    run.kill();
    await run.exit(10_000);
    await master.close();
  }
});

/** Runs the example against a real master and a process agent; cleans everything up. */
async function withExample(
  options: { tasks: number; cmd: string },
  fn: (run: ExampleRun, cluster: Cluster) => Promise<void>,
): Promise<void> {
  const cluster = await Cluster.start(["--allocation-interval", "0.2"]);
  let run: ExampleRun | undefined;
  try {
    await cluster.addAgent(["--containerizer", "process"]);
    run = new ExampleRun([
      "--master",
      cluster.masterUrl,
      "--tasks",
      String(options.tasks),
      "--cmd",
      options.cmd,
    ]);
    await fn(run, cluster);
  } finally {
    run?.kill();
    await run?.exit(10_000);
    await cluster.stop();
  }
}

Deno.test("hello-framework runs 3 tasks to TASK_FINISHED on a real master and agent", async () => {
  await withExample({ tasks: 3, cmd: "echo hi; sleep 1" }, async (run, cluster) => {
    const code = await run.exit(60_000);
    assert.equal(code, 0, run.lines.join("\n"));
    for (const taskId of ["hello-1", "hello-2", "hello-3"]) {
      assert.deepEqual(
        run.states(taskId),
        ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
        `${taskId}:\n${run.lines.join("\n")}`,
      );
    }
    const state = await cluster.state();
    assert.equal(
      state.frameworks.filter((f: { name: string }) => f.name === "hello-framework").length,
      0,
      "the framework was torn down",
    );
  });
});

Deno.test("hello-framework re-subscribes after the master is killed and finishes its tasks", async () => {
  await withExample({ tasks: 2, cmd: "echo hi; sleep 4" }, async (run, cluster) => {
    await waitFor(
      "both tasks running",
      () => ["hello-1", "hello-2"].every((t) => run.states(t).includes("TASK_RUNNING")),
      30_000,
    );
    await cluster.master.kill("SIGKILL");
    cluster.master.start();
    const code = await run.exit(60_000);
    assert.equal(code, 0, run.lines.join("\n"));
    assert.ok(run.lines.some((l) => l.startsWith("disconnected:")), run.lines.join("\n"));
    assert.ok(run.lines.some((l) => l.endsWith("(again)")), run.lines.join("\n"));
    for (const taskId of ["hello-1", "hello-2"]) {
      assert.equal(run.states(taskId).at(-1), "TASK_FINISHED", run.lines.join("\n"));
    }
  });
});
