import assert from "node:assert/strict";
import { FakeClock } from "../../base/mod.ts";
import type { HealthCheck } from "../../protocol/mod.ts";
import { HealthChecker, probeHttp, probeTcp } from "./health_checker.ts";

/** A checker on a fake clock whose COMMAND check answers from a script of exit codes. */
function harness(check: Partial<HealthCheck>, codes: (number | "hang" | "throw")[]) {
  const clock = new FakeClock(0);
  const events: string[] = [];
  const execs: number[] = [];
  let i = 0;
  const checker = new HealthChecker({
    check: { type: "COMMAND", command: { value: "probe" }, ...check },
    host: "127.0.0.1",
    portFor: (p) => p,
    exec: (_cmd, timeoutMs) => {
      execs.push(clock.now());
      const code = codes[Math.min(i++, codes.length - 1)];
      if (code === "hang") return new Promise<number>(() => {});
      if (code === "throw") return Promise.reject(new Error(`exec failed (${timeoutMs} ms)`));
      return Promise.resolve(code ?? 0);
    },
    clock,
    onChange: (healthy, message) => events.push(`${healthy ? "healthy" : "unhealthy"}: ${message}`),
    onKill: (message) => events.push(`kill: ${message}`),
  });
  /** Advances the fake clock in 1 s steps, letting the checker run between them. */
  const advance = async (seconds: number) => {
    for (let s = 0; s < seconds; s++) {
      clock.advance(1000);
      for (let k = 0; k < 5; k++) await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { checker, clock, events, execs, advance };
}

Deno.test("HealthChecker uses Mesos' defaults: first probe after 15 s, then every 10 s", async () => {
  const h = harness({}, [0]);
  h.checker.start();
  await h.advance(14);
  assert.deepEqual(h.execs, []);
  await h.advance(1);
  assert.deepEqual(h.execs, [15_000]);
  await h.advance(20);
  assert.deepEqual(h.execs, [15_000, 25_000, 35_000]);
  assert.deepEqual(h.events, ["healthy: health check passed"]);
  h.checker.stop();
});

Deno.test("HealthChecker reports only changes of health", async () => {
  const h = harness({ delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 0 }, [
    0,
    0,
    1,
    1,
    0,
    0,
  ]);
  h.checker.start();
  await h.advance(6);
  assert.deepEqual(h.events, [
    "healthy: health check passed",
    "unhealthy: health check failed: command exited with 1",
    "healthy: health check passed",
  ]);
  assert.deepEqual(h.checker.state, { healthy: true, consecutiveFailures: 0, killed: false });
  h.checker.stop();
});

Deno.test("HealthChecker ignores failures in the grace period, then kills after N in a row", async () => {
  const h = harness(
    { delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 3, consecutive_failures: 2 },
    [1],
  );
  h.checker.start();
  await h.advance(2); // probes at 0, 1, 2 s: inside the grace period, not counted
  assert.deepEqual(h.events, []);
  assert.equal(h.checker.state.consecutiveFailures, 0);
  await h.advance(1); // 3 s: counted
  assert.deepEqual(h.events, ["unhealthy: health check failed: command exited with 1"]);
  await h.advance(1); // 4 s: second in a row
  assert.equal(h.events.length, 2);
  assert.match(h.events[1] ?? "", /^kill: Killing task: health check failed 2 consecutive times/);
  const probes = h.execs.length;
  await h.advance(5);
  assert.equal(h.execs.length, probes, "kept probing after asking for a kill");
  assert.equal(h.checker.state.killed, true);
});

Deno.test("HealthChecker counts failures in the grace period once the task was healthy", async () => {
  const h = harness(
    { delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 100, consecutive_failures: 2 },
    [0, 1, 1],
  );
  h.checker.start();
  await h.advance(3);
  assert.equal(h.events.at(-1)?.startsWith("kill:"), true, h.events.join("\n"));
});

Deno.test("HealthChecker resumed with an old start time grants no fresh grace period", async () => {
  const h = harness(
    { delay_seconds: 0, interval_seconds: 1, grace_period_seconds: 60, consecutive_failures: 1 },
    [1],
  );
  h.clock.advance(120_000);
  h.checker.start(0);
  await h.advance(1);
  assert.match(h.events.at(-1) ?? "", /^kill:/);
});

Deno.test("HealthChecker treats a probe past its timeout, or a failing exec, as a failure", async () => {
  const h = harness(
    {
      delay_seconds: 0,
      interval_seconds: 1,
      timeout_seconds: 2,
      grace_period_seconds: 0,
      consecutive_failures: 0,
    },
    ["hang", "throw"],
  );
  h.checker.start();
  await h.advance(1);
  assert.deepEqual(h.events, []);
  await h.advance(1);
  assert.deepEqual(h.events, ["unhealthy: health check failed: timed out after 2 s"]);
  await h.advance(1); // 3 s: the exec rejects
  assert.equal(h.checker.state.consecutiveFailures, 2);
  assert.equal(h.checker.state.killed, false, "consecutive_failures 0 must never kill");
  h.checker.stop();
});

Deno.test("HealthChecker.stop() ends probing and silences callbacks", async () => {
  const h = harness({ delay_seconds: 0, interval_seconds: 1 }, [0]);
  h.checker.start();
  await h.advance(1);
  h.checker.stop();
  const probes = h.execs.length;
  await h.advance(5);
  assert.equal(h.execs.length, probes);
});

Deno.test("probeHttp() accepts 2xx and 3xx, refuses others, honours statuses", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/ok") return new Response("ok");
    if (path === "/moved") return new Response(null, { status: 302, headers: { location: "/x" } });
    return new Response("no", { status: 503 });
  });
  try {
    const port = server.addr.port;
    assert.deepEqual(await probeHttp("127.0.0.1", port, { port, path: "/ok" }), { ok: true });
    assert.deepEqual(await probeHttp("127.0.0.1", port, { port, path: "moved" }), { ok: true });
    const bad = await probeHttp("127.0.0.1", port, { port, path: "/bad" });
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? "" : bad.message, /answered 503/);
    const listed = await probeHttp("127.0.0.1", port, { port, path: "/bad", statuses: [503] });
    assert.deepEqual(listed, { ok: true });
  } finally {
    await server.shutdown();
  }
});

Deno.test("probeTcp() succeeds on a listening port and fails on a closed one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })().catch(() => undefined);
  try {
    assert.deepEqual(await probeTcp("127.0.0.1", port), { ok: true });
  } finally {
    listener.close();
    await accepting;
  }
  const closed = await probeTcp("127.0.0.1", port);
  assert.equal(closed.ok, false);
});

Deno.test("HealthChecker runs a real HTTP check on loopback and asks for a kill when it fails", async () => {
  let healthy = true;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(null, { status: healthy ? 200 : 500 }),
  );
  const { systemClock } = await import("../../base/mod.ts");
  const events: string[] = [];
  let killed!: () => void;
  const killedP = new Promise<void>((r) => (killed = r));
  const checker = new HealthChecker({
    check: {
      type: "HTTP",
      http: { port: 80, path: "/health" },
      delay_seconds: 0,
      interval_seconds: 0.05,
      timeout_seconds: 1,
      grace_period_seconds: 0,
      consecutive_failures: 3,
    },
    host: "127.0.0.1",
    portFor: (p) => (p === 80 ? server.addr.port : p),
    exec: () => Promise.reject(new Error("not used")),
    clock: systemClock,
    onChange: (h, m) => {
      events.push(`${h}: ${m}`);
      if (h) healthy = false; // break it once seen healthy
    },
    onKill: (m) => {
      events.push(`kill: ${m}`);
      killed();
    },
  });
  try {
    checker.start();
    const deadline = setTimeout(() => killed(), 10_000);
    await killedP;
    clearTimeout(deadline);
    assert.equal(events[0], "true: health check passed");
    assert.match(events[1] ?? "", /^false: health check failed: GET .* answered 500/);
    assert.match(events[2] ?? "", /^kill: Killing task: health check failed 3 consecutive times/);
  } finally {
    checker.stop();
    await server.shutdown();
  }
});
