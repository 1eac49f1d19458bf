import assert from "node:assert/strict";
import { FakeClock, SequentialIds } from "../base/mod.ts";
import type { TaskState, TaskStatus } from "../protocol/mod.ts";
import {
  type PendingUpdate,
  STATUS_UPDATE_RETRY,
  StatusUpdateManager,
  statusUuid,
  UpdateStreams,
} from "./status_update_manager.ts";

const RETRY = { retryMinMs: 2000, retryMaxMs: 60_000 };

function status(task: string, state: TaskState, uuid?: string): TaskStatus {
  return { task_id: { value: task }, state, ...(uuid ? { uuid } : {}) };
}

function pending(seq: number, task: string, state: TaskState): PendingUpdate {
  return { seq, framework_id: { value: "fw" }, status: status(task, state, `u${seq}`) };
}

const states = (us: PendingUpdate[]) =>
  us.map((u) => `${u.status.task_id.value}:${u.status.state}`);

Deno.test("UpdateStreams.takeDue() sends only the head of each task's stream", () => {
  const s = new UpdateStreams(RETRY);
  s.add(pending(0, "a", "TASK_STARTING"), 0);
  s.add(pending(1, "a", "TASK_RUNNING"), 0);
  s.add(pending(2, "b", "TASK_STARTING"), 0);
  assert.deepEqual(states(s.takeDue(0)), ["a:TASK_STARTING", "b:TASK_STARTING"]);
  assert.deepEqual(s.takeDue(0), []);
});

Deno.test("UpdateStreams.takeDue() retries the head with a doubling backoff up to the cap", () => {
  const s = new UpdateStreams({ retryMinMs: 2000, retryMaxMs: 5000 });
  s.add(pending(0, "a", "TASK_RUNNING"), 0);
  const sentAt: number[] = [];
  for (let t = 0; t <= 20_000; t += 100) if (s.takeDue(t).length > 0) sentAt.push(t);
  assert.deepEqual(sentAt, [0, 2000, 6000, 11000, 16000]);
});

Deno.test("UpdateStreams.acknowledge() releases the next update of the stream at once", () => {
  const s = new UpdateStreams(RETRY);
  s.add(pending(0, "a", "TASK_STARTING"), 0);
  s.add(pending(1, "a", "TASK_RUNNING"), 0);
  s.takeDue(0);
  assert.equal(s.acknowledge("fw", "a", "u0", 500)?.status.state, "TASK_STARTING");
  assert.deepEqual(states(s.takeDue(500)), ["a:TASK_RUNNING"]);
  assert.equal(s.acknowledge("fw", "a", "u1", 600)?.seq, 1);
  assert.deepEqual(s.pending(), []);
  assert.equal(s.nextDueAt(), undefined);
});

Deno.test("UpdateStreams.acknowledge() ignores a stale or unknown uuid", () => {
  const s = new UpdateStreams(RETRY);
  s.add(pending(0, "a", "TASK_STARTING"), 0);
  s.add(pending(1, "a", "TASK_RUNNING"), 0);
  s.takeDue(0);
  assert.equal(s.acknowledge("fw", "a", "u1", 10), undefined, "not the head");
  assert.equal(s.acknowledge("fw", "a", "nope", 10), undefined);
  assert.equal(s.acknowledge("fw", "zzz", "u0", 10), undefined);
  assert.equal(s.pending().length, 2);
  assert.deepEqual(s.takeDue(10), [], "a stale ack does not hurry the retry");
});

Deno.test("UpdateStreams.resendAll() makes every head due now with a fresh backoff", () => {
  const s = new UpdateStreams(RETRY);
  s.add(pending(0, "a", "TASK_RUNNING"), 0);
  s.takeDue(0);
  s.takeDue(2000);
  s.resendAll(2500);
  assert.deepEqual(states(s.takeDue(2500)), ["a:TASK_RUNNING"]);
  assert.deepEqual(s.takeDue(4499), []);
  assert.equal(s.takeDue(4500).length, 1);
});

Deno.test("statusUuid() is the base64 of a UUID's 16 bytes", () => {
  const uuid = statusUuid(new SequentialIds());
  assert.equal(atob(uuid).length, 16);
  assert.equal(uuid, "AAAAAAAAQACAAAAAAAAAAQ==");
});

/** Waits for queued microtasks and KV commits to settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
}

Deno.test("StatusUpdateManager persists, sends, retries and resumes after a restart", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tender-sum-" });
  const path = `${dir}/kv`;
  const clock = new FakeClock(0);
  const ids = new SequentialIds();
  const sent: PendingUpdate[] = [];
  const make = (kv: Deno.Kv) =>
    new StatusUpdateManager(
      { kv, clock, ids, send: (u) => Promise.resolve(void sent.push(u)) },
      RETRY,
    );

  let kv = await Deno.openKv(path);
  let manager = make(kv);
  manager.start();
  let runningUuid = "";
  try {
    await t.step(
      "an update is persisted before it is sent, and only the head goes out",
      async () => {
        const starting = await manager.update("fw", status("a", "TASK_STARTING"));
        runningUuid = (await manager.update("fw", status("a", "TASK_RUNNING"))).uuid!;
        assert.ok(starting.uuid);
        const stored = await Array.fromAsync(kv.list({ prefix: ["updates"] }));
        assert.equal(stored.length, 2);
        await settle();
        assert.deepEqual(states(sent), ["a:TASK_STARTING"]);
      },
    );

    await t.step("without an ack the head is sent again after the retry interval", async () => {
      clock.advance(1999);
      await settle();
      assert.equal(sent.length, 1);
      clock.advance(1);
      await settle();
      assert.deepEqual(states(sent), ["a:TASK_STARTING", "a:TASK_STARTING"]);
    });

    await t.step("the ack of the head sends the next one and deletes the acked one", async () => {
      const head = sent[0]!.status.uuid!;
      assert.equal(await manager.acknowledge("fw", "a", runningUuid), undefined);
      assert.equal((await manager.acknowledge("fw", "a", head))?.status.state, "TASK_STARTING");
      await settle();
      assert.deepEqual(states(sent).at(-1), "a:TASK_RUNNING");
      assert.equal((await Array.fromAsync(kv.list({ prefix: ["updates"] }))).length, 1);
    });

    await t.step("a restarted manager loads the unacknowledged update and resends it", async () => {
      await manager.stop();
      kv.close();
      sent.length = 0;
      kv = await Deno.openKv(path);
      manager = make(kv);
      const loaded = await manager.load();
      assert.deepEqual(states(loaded), ["a:TASK_RUNNING"]);
      manager.start();
      await settle();
      assert.deepEqual(sent.map((u) => u.status.uuid), [runningUuid]);
      const next = await manager.update("fw", status("a", "TASK_FINISHED"));
      assert.ok(next.uuid !== runningUuid);
      assert.ok(manager.pendingFor("fw", "a")[1]!.seq > loaded[0]!.seq, "sequence continues");
      await manager.acknowledge("fw", "a", runningUuid);
      await settle();
      assert.deepEqual(states(sent).at(-1), "a:TASK_FINISHED");
    });
  } finally {
    await manager.stop();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StatusUpdateManager: a slow-acknowledging master gets no duplicate within 10 s, nor while a post is unanswered", async () => {
  const clock = new FakeClock(0);
  const kv = await Deno.openKv(":memory:");
  const sent: string[] = [];
  // The master takes the first post and answers it only when told (a loaded master).
  let answerFirst = () => {};
  const manager = new StatusUpdateManager({
    kv,
    clock,
    ids: new SequentialIds(),
    send: (u) => {
      sent.push(`${u.status.task_id.value}:${u.status.state}`);
      if (sent.length > 1) return Promise.resolve();
      return new Promise<void>((resolve) => (answerFirst = resolve));
    },
  }, STATUS_UPDATE_RETRY);
  manager.start();
  try {
    await manager.update("fw", status("a", "TASK_RUNNING"));
    await settle();
    assert.deepEqual(sent, ["a:TASK_RUNNING"]);
    clock.advance(9_999);
    await settle();
    assert.equal(sent.length, 1, "no resend within the first 10 s (Mesos' minimum)");
    clock.advance(30_000);
    await settle();
    assert.equal(sent.length, 1, "no resend while the first post is unanswered");
    answerFirst();
    await settle();
    // Skipped when due at 40 s (in flight) and rescheduled 20 s later: resent at 60 s.
    clock.advance(20_000);
    await settle();
    assert.deepEqual(sent, ["a:TASK_RUNNING", "a:TASK_RUNNING"], "resent once answered");
  } finally {
    await manager.stop();
    kv.close();
  }
});
