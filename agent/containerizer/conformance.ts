/**
 * The containerizer conformance suite: one set of behaviours every `Containerizer` must show,
 * run against each implementation (`docker`, `process`, ...) from its own test file.
 *
 * ```ts
 * containerizerConformance("process", (workDir) => new ProcessContainerizer({ workDir }));
 * ```
 */
import assert from "node:assert/strict";
import type { CommandInfo, ContainerInfo } from "../../protocol/mod.ts";
import type { ContainerId, Containerizer, ContainerSpec, Termination } from "./containerizer.ts";

/** Options for `containerizerConformance`. */
export interface ConformanceOptions {
  /** The container every spec carries (the docker suite names its image here). */
  container?: ContainerInfo;
  /** Skips the whole suite visibly (e.g. no Docker socket answers). */
  ignore?: boolean;
  /** Also checks `recover()` from a second instance built on the same work dir. */
  recovery?: boolean;
  /** Releases what an instance holds (streams, timers) once the suite is done with it. */
  dispose?: (containerizer: Containerizer) => Promise<void> | void;
  /** How long any single step may take before the suite calls it hung (default 30 s). */
  deadlineMs?: number;
}

/** Builds a containerizer whose state lives under `workDir` (the same dir for a "restart"). */
export type MakeContainerizer = (workDir: string) => Containerizer | Promise<Containerizer>;

/** Registers one `Deno.test` named `containerizer conformance: <name>` with a step per behaviour. */
export function containerizerConformance(
  name: string,
  makeContainerizer: MakeContainerizer,
  options: ConformanceOptions = {},
): void {
  Deno.test({
    name: `containerizer conformance: ${name}`,
    ignore: options.ignore ?? false,
    fn: async (t) => {
      const workDir = await Deno.makeTempDir({ prefix: "tender-conformance-" });
      const run = crypto.randomUUID().slice(0, 8);
      const launched = new Set<ContainerId>();
      const instances: Containerizer[] = [];
      const deadline = options.deadlineMs ?? 30_000;
      const make = async () => {
        const c = await makeContainerizer(workDir);
        instances.push(c);
        return c;
      };
      const c = await make();
      const suite: Suite = {
        c,
        deadline,
        id: (label) => {
          const id = `conf-${run}-${label}`;
          launched.add(id);
          return id;
        },
        spec: async (id, command) => {
          const sandbox = `${workDir}/sandboxes/${id}`;
          await Deno.mkdir(sandbox, { recursive: true });
          return {
            agentId: "conformance-agent",
            frameworkId: "conformance-framework",
            taskId: `task-${id}`,
            command,
            container: options.container,
            limits: { cpus: 0.1, memMb: 64, diskMb: 64 },
            ports: [],
            env: { CONFORMANCE_GREETING: "hello there" },
            hostIp: "127.0.0.1",
            sandbox,
          };
        },
      };
      try {
        await runSteps(t, suite);
        if (options.recovery) await recoverySteps(t, suite, make);
      } finally {
        for (const id of launched) {
          await c.destroy(id, 0).catch(() => undefined);
        }
        for (const instance of instances) await options.dispose?.(instance);
        await Deno.remove(workDir, { recursive: true }).catch(() => undefined);
      }
    },
  });
}

interface Suite {
  c: Containerizer;
  deadline: number;
  /** A fresh container id, remembered for clean-up. */
  id(label: string): ContainerId;
  spec(id: ContainerId, command: CommandInfo): Promise<ContainerSpec>;
}

async function runSteps(t: Deno.TestContext, s: Suite): Promise<void> {
  const { c } = s;
  const within = <T>(p: Promise<T>, what: string) => withDeadline(p, s.deadline, what);
  const shell = (value: string): CommandInfo => ({ shell: true, value });

  await t.step("launch() then wait() reports exit 0 as exited", async () => {
    const id = s.id("exit0");
    assert.equal(
      await within(c.launch(id, await s.spec(id, shell("exit 0"))), "launch"),
      "launched",
    );
    const term = await within(c.wait(id), "wait");
    assertTermination(term, { exitCode: 0, reason: "exited" });
  });

  await t.step("wait() reports a non-zero exit status and says it in the message", async () => {
    const id = s.id("exit3");
    await within(c.launch(id, await s.spec(id, shell("exit 3"))), "launch");
    const term = await within(c.wait(id), "wait");
    assertTermination(term, { exitCode: 3, reason: "exited" });
    assert.match(term.message, /3/);
    // wait() is idempotent: asking again gives the same answer.
    assert.deepEqual(await within(c.wait(id), "second wait"), term);
  });

  await t.step("the task sees spec.env and runs under /bin/sh -c", async () => {
    const id = s.id("env");
    const cmd = shell('test "$CONFORMANCE_GREETING" = "hello there" && exit 5 || exit 6');
    await within(c.launch(id, await s.spec(id, cmd)), "launch");
    assertTermination(await within(c.wait(id), "wait"), { exitCode: 5, reason: "exited" });
  });

  await t.step("launch() of a known id answers already_launched", async () => {
    const id = s.id("twice");
    const spec = await s.spec(id, shell("sleep 60"));
    assert.equal(await within(c.launch(id, spec), "launch"), "launched");
    assert.equal(await within(c.launch(id, spec), "relaunch"), "already_launched");
    await within(c.destroy(id, 0), "destroy");
  });

  await t.step("destroy() stops a running task gracefully and reports killed", async () => {
    const id = s.id("graceful");
    // Exits on SIGTERM by itself: destroy must not wait for the whole grace period. It says
    // "ready" once its trap is set: a TERM before that is ignored by a shell that is PID 1.
    const cmd = shell("trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done");
    await within(c.launch(id, await s.spec(id, cmd)), "launch");
    const abort = new AbortController();
    await within(
      readUntil(
        c.logs(id, { stream: "stdout", follow: true, signal: abort.signal }),
        "ready",
        abort,
      ),
      "ready",
    );
    const waiting = c.wait(id);
    const started = Date.now();
    const term = await within(c.destroy(id, 20_000), "destroy");
    assert.ok(Date.now() - started < 15_000, "destroy waited for the grace period");
    assertTermination(term, { reason: "killed" });
    assert.deepEqual(await within(waiting, "wait"), term);
  });

  await t.step(
    "destroy() kills a task that ignores SIGTERM once the grace period ends",
    async () => {
      const id = s.id("stubborn");
      const cmd = shell("trap '' TERM; while true; do sleep 0.1; done");
      await within(c.launch(id, await s.spec(id, cmd)), "launch");
      const started = Date.now();
      const term = await within(c.destroy(id, 500), "destroy");
      assert.ok(Date.now() - started < 12_000, "destroy took far longer than the grace period");
      assertTermination(term, { exitCode: null, reason: "killed" });
      assert.deepEqual(await within(c.destroy(id, 500), "second destroy"), term);
    },
  );

  await t.step("destroy() and wait() of an unknown id give undefined", async () => {
    assert.equal(await within(c.destroy(s.id("never"), 0), "destroy"), undefined);
    assert.equal(await within(c.wait(s.id("never2")), "wait"), undefined);
  });

  await t.step("logs() returns stdout and stderr apart, and honours tail", async () => {
    const id = s.id("logs");
    const cmd = shell("echo one; echo two; echo three; echo oops >&2");
    await within(c.launch(id, await s.spec(id, cmd)), "launch");
    await within(c.wait(id), "wait");
    assert.equal(
      await within(readAll(c.logs(id, { stream: "stdout" })), "stdout"),
      "one\ntwo\nthree\n",
    );
    assert.equal(await within(readAll(c.logs(id, { stream: "stderr" })), "stderr"), "oops\n");
    assert.equal(
      await within(readAll(c.logs(id, { stream: "stdout", tail: 1 })), "tail"),
      "three\n",
    );
    assert.equal(
      await within(readAll(c.logs(s.id("nologs"), { stream: "stdout" })), "unknown"),
      "",
    );
  });

  await t.step("logs() with follow streams output as it comes, until aborted", async () => {
    const id = s.id("follow");
    const cmd = shell("echo first; sleep 0.5; echo second; sleep 60");
    await within(c.launch(id, await s.spec(id, cmd)), "launch");
    const abort = new AbortController();
    const stream = c.logs(id, { stream: "stdout", follow: true, signal: abort.signal });
    const text = await within(readUntil(stream, "second\n", abort), "follow");
    assert.equal(text, "first\nsecond\n");
    await within(c.destroy(id, 0), "destroy");
  });

  await t.step("exec() runs a command inside a running task and returns its status", async () => {
    const id = s.id("exec");
    await within(c.launch(id, await s.spec(id, shell("sleep 60"))), "launch");
    assert.equal(await within(c.exec(id, shell("exit 0"), 5_000), "exec 0"), 0);
    assert.equal(await within(c.exec(id, shell("exit 7"), 5_000), "exec 7"), 7);
    const slow = c.exec(id, shell("sleep 30"), 500).then((code) => code, () => "rejected");
    const started = Date.now();
    const outcome = await within(slow, "exec past its timeout");
    assert.notEqual(outcome, 0, "a timed-out exec must not count as success");
    assert.ok(Date.now() - started < 10_000, "exec ignored its timeout");
    await within(c.destroy(id, 0), "destroy");
  });
}

async function recoverySteps(
  t: Deno.TestContext,
  s: Suite,
  make: () => Promise<Containerizer>,
): Promise<void> {
  const within = <T>(p: Promise<T>, what: string) => withDeadline(p, s.deadline, what);
  await t.step(
    "recover() in a new instance adopts running tasks and reports ended ones",
    async () => {
      const alive = s.id("rec-alive");
      const ended = s.id("rec-ended");
      await within(s.c.launch(alive, await s.spec(alive, { value: "sleep 60" })), "launch alive");
      await within(s.c.launch(ended, await s.spec(ended, { value: "exit 4" })), "launch ended");
      await within(s.c.wait(ended), "wait ended");

      const fresh = await make();
      const found = await within(fresh.recover(new Set([alive, ended])), "recover");
      const byId = new Map(found.map((r) => [r.id, r]));
      assert.equal(byId.get(alive)?.termination, undefined, "the running task was not adopted");
      assert.equal(byId.get(alive)?.taskId, `task-${alive}`);
      assertTermination(byId.get(ended)?.termination, { exitCode: 4, reason: "exited" });

      const term = await within(fresh.destroy(alive, 0), "destroy adopted");
      assertTermination(term, { reason: "killed" });
      assert.deepEqual(await within(fresh.wait(alive), "wait adopted"), term);
      await within(fresh.destroy(ended, 0), "destroy ended");
    },
  );
}

function assertTermination(
  actual: Termination | undefined,
  expected: Partial<Pick<Termination, "exitCode" | "reason">>,
): asserts actual is Termination {
  assert.ok(actual, "expected a termination, got undefined");
  if (expected.reason !== undefined) assert.equal(actual.reason, expected.reason, actual.message);
  if (expected.exitCode !== undefined) {
    assert.equal(actual.exitCode, expected.exitCode, actual.message);
  }
  assert.equal(typeof actual.message, "string");
  assert.ok(actual.message.length > 0, "termination message is empty");
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

async function readUntil(
  stream: ReadableStream<Uint8Array>,
  marker: string,
  abort: AbortController,
): Promise<string> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let text = "";
  try {
    while (!text.includes(marker)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    return text;
  } finally {
    abort.abort();
    await reader.cancel().catch(() => undefined);
  }
}
