/**
 * A master among several on one etcd: it serves as a standby (redirecting to the leader) until
 * its election wins, then recovers the books from etcd and leads, every write fenced by its
 * leadership. When leadership is lost (lease expired while paused or cut off, a newer leader)
 * it stops leading at once — the standby routes answer again, the books and streams are
 * dropped, agents and frameworks reconnect to the new leader — and it campaigns again.
 */
import type { Hono } from "hono";
import { createLogger, type Logger } from "../protocol/log.ts";
import { systemClock } from "../protocol/mod.ts";
import { EtcdConnection, LeadershipLostError } from "../store/mod.ts";
import { standbyApp } from "./http/standby_app.ts";
import { lead, type Leading, masterSettings, type StartMasterOptions } from "./mod.ts";
import { MasterStore } from "./store/master_store.ts";

/** How to start a master on etcd. */
export interface StartHaMasterOptions extends StartMasterOptions {
  /** The etcd cluster and Tender's prefix there (parsed `--store etcd://…`). */
  etcd: { endpoints: string[]; prefix: string };
  /** The URL other processes reach this master at (default `http://HOST:PORT`). */
  advertiseUrl?: string;
  /** The leadership lease, in seconds (default 2: a dead leader is replaced in about 2–3 s). */
  leaseSeconds?: number;
  /** etcd request deadline (default 5 s): past it a write fails rather than hangs. */
  etcdTimeoutMs?: number;
  log?: Logger;
}

/** A master on etcd, leading or standing by. */
export interface HaMaster {
  url: string;
  port: number;
  /** The leader's parts while this master leads. */
  leading(): Leading | undefined;
  /** The leading master's URL as last seen (this one's when it leads). */
  leader(): string | undefined;
  /** Resolves once this master leads (for tests and tools). */
  elected(): Promise<Leading>;
  /** Stops leading (resigning, so a standby takes over at once) and serving. */
  stop(): Promise<void>;
}

/** Connects to etcd, serves as a standby, and campaigns for leadership in the background. */
export async function startHaMaster(options: StartHaMasterOptions): Promise<HaMaster> {
  const log = options.log ?? createLogger({ component: "master" });
  const cluster = await EtcdConnection.open(options.etcd, { timeoutMs: options.etcdTimeoutMs });
  const host = options.host ?? "127.0.0.1";
  const settings = masterSettings(options);
  let leaderUrl: string | undefined;
  let current: Leading | undefined;
  let electedWaiters: ((leading: Leading) => void)[] = [];
  const startTime = (options.clock ?? systemClock).now();
  let trouble: string | undefined;
  const view = { self: "", leader: () => leaderUrl, startTime, trouble: () => trouble };
  const standby = standbyApp(view);
  let serving: Hono = standby;
  const server = Deno.serve(
    { hostname: host, port: options.port ?? 5050, onListen: () => {} },
    (request, info) => serving.fetch(request, info),
  );
  const port = server.addr.port;
  settings.port = port;
  const self = options.advertiseUrl ?? `http://${host}:${port}`;
  view.self = self;

  const stopping = new AbortController();
  const election = cluster.election("master", { ttlSeconds: options.leaseSeconds });
  const observing = election.observe((value) => {
    leaderUrl = value ?? (current ? self : undefined);
  }, stopping.signal).catch((e) => {
    if (!stopping.signal.aborted) log.error("following the election failed", { error: String(e) });
  });

  const campaigning = (async () => {
    while (!stopping.signal.aborted) {
      let leadership;
      try {
        leadership = await election.campaign(self, stopping.signal);
        trouble = undefined;
      } catch (e) {
        if (stopping.signal.aborted) break;
        trouble = e instanceof Error ? e.message : String(e);
        log.warn("campaign failed; trying again", { error: trouble });
        await systemClock.sleep(500, stopping.signal).catch(() => {});
        continue;
      }
      let leading: Leading;
      try {
        const store = new MasterStore(cluster.store("master", leadership.fence));
        leading = await lead(store, settings, { ...options, self });
      } catch (e) {
        trouble = `could not recover the books: ${e instanceof Error ? e.message : e}`;
        log.error("could not take the lead; resigning", { error: trouble });
        await leadership.resign().catch(() => {});
        await systemClock.sleep(500, stopping.signal).catch(() => {});
        continue;
      }
      if (leadership.signal.aborted || stopping.signal.aborted) {
        await leading.stop();
        if (stopping.signal.aborted) await leadership.resign().catch(() => {});
        continue;
      }
      current = leading;
      leaderUrl = self;
      serving = leading.app;
      log.info("elected leading master", { url: self, store: cluster.prefix });
      for (const waiter of electedWaiters.splice(0)) waiter(leading);
      await Promise.race([aborted(leadership.signal), aborted(stopping.signal)]);
      // Stop acting as leader before anything else: from here requests meet the standby.
      serving = standby;
      current = undefined;
      if (leaderUrl === self) leaderUrl = undefined;
      if (!stopping.signal.aborted) {
        log.warn("lost leadership; standing by", { reason: String(leadership.signal.reason) });
      }
      await leading.stop().catch((e) => {
        if (!(e instanceof LeadershipLostError)) {
          log.warn("stopping the leader", { error: String(e) });
        }
      });
      if (stopping.signal.aborted) await leadership.resign().catch(() => {});
    }
  })();

  return {
    url: self,
    port,
    leading: () => current,
    leader: () => leaderUrl,
    elected: () =>
      current ? Promise.resolve(current) : new Promise((resolve) => electedWaiters.push(resolve)),
    async stop() {
      stopping.abort(new Error("master stopping"));
      await campaigning;
      await observing;
      electedWaiters = [];
      await server.shutdown();
      cluster.close();
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
