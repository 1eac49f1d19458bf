import assert from "node:assert/strict";
import { createLogger, resolveLogLevel } from "./log.ts";

function capture(level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const log = createLogger({
    level,
    component: "agent",
    write: (l) => lines.push(l),
    now: () => 0,
  });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l)) };
}

Deno.test("createLogger() writes one JSON object per line with ts, level, component, msg and fields", () => {
  const { log, lines, parsed } = capture("debug");
  log.info("task launched", { taskId: "t-1", cpus: 0.5 });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes("\n"));
  assert.deepEqual(parsed()[0], {
    ts: "1970-01-01T00:00:00.000Z",
    level: "info",
    component: "agent",
    msg: "task launched",
    taskId: "t-1",
    cpus: 0.5,
  });
  assert.deepEqual(Object.keys(parsed()[0]).slice(0, 4), ["ts", "level", "component", "msg"]);
});

Deno.test("createLogger() is quiet by default: warn and error only", () => {
  const { log, parsed } = capture();
  assert.equal(log.level, "warn");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.deepEqual(parsed().map((r) => r.level), ["warn", "error"]);
  assert.equal(log.enabled("info"), false);
  assert.equal(log.enabled("error"), true);
});

Deno.test("createLogger() keeps its own keys over fields and writes errors as text", () => {
  const { log, parsed } = capture("error");
  log.error("boom", { level: "debug", msg: "other", error: new Error("bad disk") });
  const [r] = parsed();
  assert.equal(r.level, "error");
  assert.equal(r.msg, "boom");
  assert.match(r.error, /^Error: bad disk/);
});

Deno.test("resolveLogLevel() prefers the flag, then the environment, then warn", () => {
  assert.equal(resolveLogLevel(undefined, undefined), "warn");
  assert.equal(resolveLogLevel(undefined, ""), "warn");
  assert.equal(resolveLogLevel(undefined, "DEBUG"), "debug");
  assert.equal(resolveLogLevel("error", "debug"), "error");
  assert.throws(() => resolveLogLevel("loud"), /invalid log level "loud"/);
});
