import assert from "node:assert/strict";
import { waitFor } from "../../tests/support/cluster.ts";
import { EtcdCluster, hasEtcd } from "../../tests/support/etcd_cluster.ts";
import { EtcdClient } from "./client.ts";
import { Election, type Leadership, readLeader } from "./election.ts";
import { compareCreate, opPut } from "./wire.ts";

const ignore = !hasEtcd();

/** Runs `body` against a fresh 3-member cluster and a client of it; cleans up either way. */
async function withCluster(
  body: (cluster: EtcdCluster, client: EtcdClient) => Promise<void>,
): Promise<void> {
  const cluster = await EtcdCluster.start();
  let client: EtcdClient | undefined;
  try {
    client = await EtcdClient.connect(cluster.endpoints, { timeoutMs: 1000 });
    await body(cluster, client);
  } finally {
    client?.close();
    await cluster.close();
  }
}

/** How many candidates have a key under `prefix`. */
async function candidates(client: EtcdClient, prefix: string): Promise<number> {
  return (await client.rangeAll(`${prefix}/election/`)).kvs.length;
}

/** Whether a fenced write commits now. */
async function fencedWrite(client: EtcdClient, leadership: Leadership): Promise<boolean> {
  const write = { compare: [leadership.fence], success: [opPut("/fenced", "w")] };
  return (await client.txn(write)).succeeded;
}

/** Resolves when `signal` aborts, with the ms it took from `since`. */
function abortedAfter(signal: AbortSignal, since: number): Promise<number> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(performance.now() - since);
    signal.addEventListener("abort", () => resolve(performance.now() - since), { once: true });
  });
}

Deno.test({
  name: "Election.campaign() makes exactly one leader among three candidates",
  ignore,
  fn: () =>
    withCluster(async (_, client) => {
      const election = new Election(client, { prefix: "/one" });
      const giveUp = new AbortController();
      const leaders: string[] = [];
      const campaigns = ["a", "b", "c"].map((name) =>
        election.campaign(`http://${name}`, giveUp.signal).then((leadership) => {
          leaders.push(name);
          return leadership;
        })
      );
      const winner = await Promise.race(campaigns);
      await waitFor("three candidates", async () => await candidates(client, "/one") === 3);
      assert.equal(await election.leader(), `http://${leaders[0]}`);
      assert.deepEqual(leaders.length, 1);
      assert.ok(!winner.signal.aborted);

      giveUp.abort(new Error("test over"));
      const outcomes = await Promise.allSettled(campaigns);
      assert.equal(outcomes.filter((o) => o.status === "rejected").length, 2);
      await waitFor("the two others gone", async () => await candidates(client, "/one") === 1);
      await winner.resign();
      assert.equal(await readLeader(client, "/one"), undefined);
    }),
});

Deno.test({
  name: "Election.campaign() hands leadership to the next candidate when the leader resigns",
  ignore,
  fn: () =>
    withCluster(async (_, client) => {
      const election = new Election(client, { prefix: "/next" });
      const stop = new AbortController();
      const seen: (string | undefined)[] = [];
      const observing = election.observe((leader) => seen.push(leader), stop.signal);
      try {
        const a = await election.campaign("http://a");
        const b = election.campaign("http://b");
        await waitFor("b queued", async () => await candidates(client, "/next") === 2);
        let cLeads = false;
        const c = election.campaign("http://c").then((l) => (cLeads = true, l));
        await waitFor("c queued", async () => await candidates(client, "/next") === 3);

        await a.resign();
        assert.ok(a.signal.aborted);
        const bLeadership = await b;
        assert.ok(!cLeads, "c leads while b does");
        assert.equal(await election.leader(), "http://b");
        await bLeadership.resign();
        await (await c).resign();
        await waitFor("the observer to see every change", () => seen.length === 5);
        assert.deepEqual(seen, [undefined, "http://a", "http://b", "http://c", undefined]);
      } finally {
        stop.abort();
        await observing;
      }
    }),
});

Deno.test({
  name: "Election.campaign() takes over even when the member its watch goes through falls silent",
  ignore,
  fn: () =>
    withCluster(async (cluster, client) => {
      const [e0, e1, e2] = cluster.endpoints as [string, string, string];
      const other = await EtcdClient.connect([e1, e2, e0], { timeoutMs: 1000 });
      try {
        const leader = await new Election(other, { prefix: "/silent" }).campaign("http://a");
        const standby = new Election(client, { prefix: "/silent" }).campaign("http://b");
        await waitFor("b queued", async () => await candidates(other, "/silent") === 2);
        assert.equal(client.preferredEndpoint, e0);
        cluster.stop(0); // b's watch stream stays open, and says nothing from now on
        try {
          // If m0 led the raft group, the others elect a new leader first: give them the time.
          await other.deleteRange(leader.fence.key, { timeoutMs: 5000 });
          const since = performance.now();
          const b = await standby;
          const ms = performance.now() - since;
          assert.ok(ms < 2000 + 1000, `b led only after ${ms} ms`);
          assert.equal(await readLeader(other, "/silent"), "http://b");
          await b.resign();
        } finally {
          cluster.cont(0);
        }
        await leader.resign();
      } finally {
        other.close();
      }
    }),
});

Deno.test({
  name: "Leadership.fence fails a transaction once leadership is lost",
  ignore,
  fn: () =>
    withCluster(async (_, client) => {
      const election = new Election(client, { prefix: "/fence" });
      const first = await election.campaign("http://a");
      assert.ok(await fencedWrite(client, first));
      await client.deleteRange(first.fence.key); // as if its lease had expired
      await waitFor("the leader to notice its key is gone", () => first.signal.aborted);
      assert.match(String(first.signal.reason), /was deleted/);
      assert.ok(!await fencedWrite(client, first));
      await first.resign();

      const second = await election.campaign("http://b");
      assert.ok(await fencedWrite(client, second));
      await second.resign();
      assert.ok(!await fencedWrite(client, second));
    }),
});

Deno.test({
  name: "Leadership.signal aborts within the TTL when etcd stops answering",
  ignore,
  fn: () =>
    withCluster(async (cluster, client) => {
      const leadership = await new Election(client, { prefix: "/mute", ttlSeconds: 2 })
        .campaign("http://a");
      const since = performance.now();
      cluster.endpoints.forEach((_, i) => cluster.stop(i));
      try {
        const ms = await abortedAfter(leadership.signal, since);
        assert.ok(ms <= 2000 + 200, `leadership lost only after ${ms} ms`);
        assert.match(String(leadership.signal.reason), /no keepalive succeeded for \d+ ms/);
      } finally {
        cluster.endpoints.forEach((_, i) => cluster.cont(i));
      }
      await leadership.resign();
    }),
});

Deno.test({
  name: "A paused leader (SIGSTOP) loses leadership by its own clock, its fenced writes fail, " +
    "and another candidate leads within TTL + 1 s",
  ignore,
  fn: () =>
    withCluster(async (cluster, client) => {
      const candidate = spawnCandidate(cluster.endpoints, "/paused", "http://paused");
      let standby: Leadership | undefined;
      try {
        const leading = await waitFor("the candidate process to lead", () =>
          candidate.lines.find((l) => l.event === "leading"), 30_000);
        const election = new Election(client, { prefix: "/paused" });
        const campaign = election.campaign("http://standby");
        await waitFor("the standby queued", async () =>
          await candidates(client, "/paused") === 2);

        candidate.process.kill("SIGSTOP");
        const since = performance.now();
        standby = await campaign;
        const ms = performance.now() - since;
        assert.ok(ms < 2000 + 1000, `the standby led only after ${ms} ms`);

        const { key, createRevision } = leading.fence as { key: string; createRevision: number };
        const stale = await client.txn({
          compare: [compareCreate(key, "EQUAL", createRevision)],
          success: [opPut("/paused/writes", "stale")],
        });
        assert.ok(!stale.succeeded);

        candidate.process.kill("SIGCONT");
        assert.ok((await candidate.process.status).success);
        const lost = candidate.lines.at(-1);
        assert.equal(lost?.event, "lost");
        assert.match(String(lost?.reason), /no keepalive succeeded for \d+ ms/);
        assert.equal(lost?.succeeded, false);
        assert.equal(await election.leader(), "http://standby");
      } finally {
        try {
          candidate.process.kill("SIGKILL");
        } catch {
          /* exited */
        }
        await candidate.process.status;
        await candidate.output;
        await standby?.resign();
      }
    }),
});

/** Runs tests/support/etcd_candidate.ts and collects the JSON lines it prints. */
function spawnCandidate(endpoints: string[], prefix: string, value: string) {
  const script = new URL("../../tests/support/etcd_candidate.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, script, endpoints.join(","), prefix, value],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const output = (async () => {
    let buffer = "";
    for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      for (const line of parts) if (line.trim() !== "") lines.push(JSON.parse(line));
    }
  })();
  return { process, lines, output };
}
