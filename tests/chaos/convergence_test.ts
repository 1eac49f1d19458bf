import assert from "node:assert/strict";
import { convergence } from "./convergence.ts";
import { app, master, running, snapshot, task } from "./fixtures.ts";

const AGENTS = ["agent-1", "agent-2", "agent-3", "agent-4"];

Deno.test("convergence() holds when every app runs its instances and nothing else runs", () => {
  const a = app("/a", [task("/a", 1, "agent-1"), task("/a", 2, "agent-2")]);
  assert.deepEqual(convergence(snapshot([a]), { agents: AGENTS }), {
    converged: true,
    waiting: [],
  });
});

Deno.test("convergence() waits for a leader, Marathon and every agent", () => {
  const a = app("/a", [task("/a", 1, "agent-1")]);
  assert.deepEqual(
    convergence(snapshot([a], { master: undefined }), { agents: AGENTS }).waiting,
    ["no master leads"],
  );
  assert.deepEqual(
    convergence(snapshot([a], { master: master(a.tasks, { inactive: ["agent-3"] }) }), {
      agents: AGENTS,
    }).waiting,
    ["agent-3 is not active at the master"],
  );
  assert.deepEqual(
    convergence(snapshot([a], { apps: undefined }), { agents: AGENTS }).waiting,
    ["no Marathon answers"],
  );
});

Deno.test("convergence() waits for counts, running states and the processes behind them", () => {
  const t1 = task("/a", 1, "agent-1"), t2 = task("/a", 2, "agent-2");
  const short = app("/a", [t1], { instances: 2 });
  assert.match(convergence(snapshot([short]), { agents: AGENTS }).waiting[0]!, /1 of 2 running/);
  const staging = app("/a", [t1, { ...t2, state: "TASK_STAGING" }]);
  assert.match(
    convergence(snapshot([staging]), { agents: AGENTS }).waiting[0]!,
    /1 of 2 running per Marathon \(TASK_STAGING\)/,
  );
  const a = app("/a", [t1, t2]);
  const ghost = convergence(snapshot([a], { running: [running(t1)] }), { agents: AGENTS });
  assert.match(ghost.waiting[0]!, /no process runs .*\.2 on agent-2/);
  const surplus = task("/a", 3, "agent-3");
  const extra = convergence(
    snapshot([a], {
      running: [t1, t2, surplus].map((t) => running(t)),
      marathonTasks: [t1, t2, { ...surplus, state: "TASK_KILLING" }],
    }),
    { agents: AGENTS },
  );
  assert.match(extra.waiting[0]!, /1 more task process\(es\) run/);
});

Deno.test("convergence() waits for old deployments, not those started after the fault", () => {
  const a = app("/a", [task("/a", 1, "agent-1")], { deployments: [{ id: "old" }] });
  assert.match(
    convergence(snapshot([a]), { agents: AGENTS }).waiting[0]!,
    /deployment old in progress/,
  );
  const excused = convergence(snapshot([a]), { agents: AGENTS, excused: new Set(["old"]) });
  assert.equal(excused.converged, true);
  const stray = task("/a", 9, "agent-2");
  const unknown = convergence(
    snapshot([a], { running: [running(a.tasks[0]!), running(stray)] }),
    { agents: AGENTS, excused: new Set(["old"]) },
  );
  assert.match(
    unknown.waiting[0]!,
    /task process\(es\) Marathon does not know run \(a\.9 on agent-2\)/,
  );
});

Deno.test("convergence() waits while tasks of a deleted app still run", () => {
  const gone = task("/extra/x1", 1, "agent-4");
  const a = app("/a", [task("/a", 1, "agent-1")]);
  const c = convergence(
    snapshot([a], { running: [running(a.tasks[0]!), running(gone)] }),
    { agents: AGENTS },
  );
  assert.match(c.waiting[0]!, /task extra_x1\.1 of \/extra\/x1, an app Marathon does not have/);
});
