import assert from "node:assert/strict";
import { GroupCommit } from "./group_commit.ts";

/** A commit that holds each batch until the test releases it. */
function heldCommits<T>() {
  const batches: T[][] = [];
  const releases: ((e?: Error) => void)[] = [];
  const commits = new GroupCommit<T>({
    commit: (batch) => {
      batches.push([...batch]);
      return new Promise<void>((resolve, reject) => {
        releases.push((e) => e ? reject(e) : resolve());
      });
    },
  });
  return { commits, batches, release: (e?: Error) => releases.shift()!(e) };
}

Deno.test("GroupCommit.add() commits the writes asked for during a commit together in the next", async () => {
  const { commits, batches, release } = heldCommits<string>();
  const done: string[] = [];
  const a = commits.add("a").then(() => done.push("a"));
  const b = commits.add("b").then(() => done.push("b"));
  const c = commits.add("c").then(() => done.push("c"));
  assert.deepEqual(batches, [["a"]]);
  release();
  await a;
  assert.deepEqual(batches, [["a"], ["b", "c"]]);
  assert.deepEqual(done, ["a"]);
  release();
  await Promise.all([b, c]);
  assert.deepEqual(done, ["a", "b", "c"]);
});

Deno.test("GroupCommit.add() rejects every write of a failed commit and goes on with the next", async () => {
  const { commits, batches, release } = heldCommits<number>();
  const first = commits.add(1);
  const second = commits.add(2);
  const third = commits.add(3);
  release();
  await first;
  release(new Error("store down"));
  await assert.rejects(second, /store down/);
  await assert.rejects(third, /store down/);
  const fourth = commits.add(4);
  release();
  await fourth;
  assert.deepEqual(batches, [[1], [2, 3], [4]]);
});

Deno.test("GroupCommit takes writes up to maxWeight per commit, a heavier one alone", async () => {
  const batches: number[][] = [];
  const commits = new GroupCommit<number>({
    commit: (batch) => {
      batches.push([...batch]);
      return Promise.resolve();
    },
    weight: (n) => n,
    maxWeight: 10,
  });
  await Promise.all([4, 4, 4, 12, 1, 2].map((n) => commits.add(n)));
  assert.deepEqual(batches, [[4], [4, 4], [12], [1, 2]]);
});

Deno.test("GroupCommit.someUnsettled() sees the batch in flight and the writes waiting; settled() waits for both", async () => {
  const { commits, release } = heldCommits<string>();
  const a = commits.add("a");
  const b = commits.add("b");
  assert.equal(commits.someUnsettled((s) => s === "a"), true);
  assert.equal(commits.someUnsettled((s) => s === "b"), true);
  let settled = false;
  const all = commits.settled().then(() => settled = true);
  release();
  await a;
  assert.equal(commits.someUnsettled((s) => s === "a"), false);
  assert.equal(settled, false);
  release();
  await Promise.all([b, all]);
  assert.equal(settled, true);
  assert.equal(commits.someUnsettled(() => true), false);
});
