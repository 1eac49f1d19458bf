import assert from "node:assert/strict";
import type { Io } from "./io.ts";
import { help, runCli } from "./run.ts";
import { age, mib, num, table } from "./table.ts";
import { reason } from "./api.ts";

/** An Io whose fetch answers from a handler and whose output is kept. */
function fakeIo(handler: (url: URL, init?: RequestInit) => Response | Promise<Response>) {
  const out: string[] = [], err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    env: (name) => name === "TENDER_MASTER" ? "master.test:5050" : undefined,
    fetch: (input, init) => Promise.resolve(handler(new URL(String(input)), init)),
    signal: new AbortController().signal,
    isTerminal: () => false,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

const STATE = {
  id: "m1",
  version: "1.11.0",
  slaves: [{
    id: "m1-S0",
    hostname: "node-a",
    port: 5051,
    resources: { cpus: 4, mem: 2048, disk: 0, ports: "[31000-31009]" },
    used_resources: { cpus: 1, mem: 128 },
    active: true,
  }],
  frameworks: [],
};

Deno.test("table() pads columns, upper-cases headers and shows empty cells as -", () => {
  assert.equal(
    table(["id", "state"], [["a", "active"], ["long-id", ""]]),
    "ID       STATE\na        active\nlong-id  -\n",
  );
});

Deno.test("num(), mib() and age() read as people write them", () => {
  assert.equal(num(0.5), "0.5");
  assert.equal(num(2), "2");
  assert.equal(num(1 / 3), "0.33");
  assert.equal(mib(512), "512MiB");
  assert.equal(mib(1536), "1.5GiB");
  assert.equal(age(42), "42s");
  assert.equal(age(3725), "1h2m");
  assert.equal(age(90000), "1d1h");
});

Deno.test("reason() finds the specific cause of a fetch failure", () => {
  const inner = new Error("tcp connect error: Connection refused (os error 111)");
  assert.equal(reason(new TypeError("fetch failed", { cause: inner })), "connection refused");
  assert.equal(reason(new Error("x: something else")), "something else");
});

Deno.test("runCli() reads the master address from TENDER_MASTER and prints a table or JSON", async () => {
  const seen: string[] = [];
  const handler = (url: URL) => {
    seen.push(url.href);
    return Response.json(STATE);
  };
  const human = fakeIo(handler);
  assert.equal(await runCli(["agents"], human.io), 0);
  // First it asks who leads (answered here by the master itself), then reads the state there.
  assert.deepEqual(seen, [
    "http://master.test:5050/master/redirect",
    "http://master.test:5050/master/state",
  ]);
  assert.match(
    human.out(),
    /^m1-S0\s+node-a:5051\s+active\s+0\s+1\/4\s+128MiB\/2GiB\s+0MiB\/0MiB\s+0\/10$/m,
  );
  const json = fakeIo(handler);
  assert.equal(
    await runCli(["agents", "list", "--json", "--master", "http://other:1/"], json.io),
    0,
  );
  assert.equal(seen[3], "http://other:1/master/state");
  assert.equal(JSON.parse(json.out())[0].hostname, "node-a");
});

Deno.test("agents list shows Mesos' maintenance states; drain sends DRAIN_AGENT with its grace", async () => {
  const agent = STATE.slaves[0]!;
  const state = {
    ...STATE,
    slaves: [
      { ...agent, id: "a1", drain_info: { state: "DRAINING" }, deactivated: true },
      { ...agent, id: "a2", deactivated: true },
      { ...agent, id: "a3", active: false },
    ],
  };
  const posted: unknown[] = [];
  const f = fakeIo((url, init) => {
    if (url.pathname === "/api/v1") {
      posted.push(JSON.parse(String(init?.body)));
      return new Response(null, { status: 202 });
    }
    return Response.json(state);
  });
  assert.equal(await runCli(["agents"], f.io), 0);
  assert.deepEqual(
    [...f.out().matchAll(/^(a\d)\s+\S+\s+(\S+)/gm)].map((m) => [m[1], m[2]]),
    [["a1", "draining"], ["a2", "deactivated"], ["a3", "inactive"]],
  );
  assert.equal(await runCli(["agents", "drain", "a3", "--timeout", "30s"], f.io), 0);
  assert.deepEqual(posted, [{
    type: "DRAIN_AGENT",
    drain_agent: { agent_id: { value: "a3" }, max_grace_period: { nanoseconds: 30e9 } },
  }]);
  assert.match(f.out(), /Agent a3 \(node-a\) is draining\./);
});

Deno.test("runCli() exits 2 on usage errors and 1 on failures, with a hint", async () => {
  const ok = () => Response.json(STATE);
  const cases: [string[], number, RegExp][] = [
    [[], 2, /^$/],
    [["nope"], 2, /unknown command "nope"/],
    [["agents", "nope"], 2, /try `tender agents list`/],
    [["status", "--frob"], 2, /Unknown option '--frob'.*`tender --help`/],
    [["logs"], 2, /usage: tender logs TASK/],
    [["logs", "t", "--tail", "0"], 2, /--tail wants a positive number/],
    [["agents", "show", "zzz"], 1, /no agent "zzz"/],
  ];
  for (const [argv, code, message] of cases) {
    const f = fakeIo(ok);
    assert.equal(await runCli(argv, f.io), code, argv.join(" "));
    assert.match(f.err(), message, argv.join(" "));
  }
});

Deno.test("runCli() reports an error answer with the server's message", async () => {
  const f = fakeIo(() => new Response("Framework is not subscribed", { status: 403 }));
  assert.equal(await runCli(["status"], f.io), 1);
  assert.equal(
    f.err(),
    "tender: the master refused /master/state (403): Framework is not subscribed\n",
  );
  const g = fakeIo(() => Response.json({ unrelated: true }, { status: 200 }));
  assert.equal(await runCli(["status"], g.io), 1);
  assert.match(
    g.err(),
    /unexpected answer from the master .* Is http:\/\/master\.test:5050 a Tender master\?/,
  );
});

Deno.test("help() lists every command with its usage", () => {
  for (const word of ["status", "agents drain AGENT", "logs TASK", "registry gc", "--json"]) {
    assert.ok(help().includes(word), word);
  }
});
