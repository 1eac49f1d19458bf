/**
 * A Marathon among several on one etcd (`--store etcd://…`), as Marathon runs on ZooKeeper: it
 * serves at once as a standby, proxying API calls to the leader, and campaigns; once elected it
 * runs Marathon over the store its leadership fences, and its driver fails the framework over
 * (same framework id: the master keeps its tasks). Deployments in progress go on from the
 * store. When leadership is lost — lease expired while paused or cut off, or abdicated by
 * `DELETE /v2/leader` — it stops leading at once: the proxy answers again, the scheduler and the
 * driver stop (the framework is not torn down), and it campaigns again.
 *
 * ```
 *   request ─▶ leaderProxy ─┬─ leading ─▶ runMarathon(EtcdStateStore fenced by the term).api
 *                           └─ standby ─▶ fetch(leader URL read from the election)
 *   campaign ─▶ elected ─▶ runMarathon ─▶ serve … signal aborted / abdicate ─▶ stop ─▶ campaign
 * ```
 */
import type { Hono } from "hono";
import { createLogger, type Logger } from "../../protocol/log.ts";
import { systemClock } from "../../protocol/mod.ts";
import { EtcdConnection, type Leadership, LeadershipLostError } from "../../store/mod.ts";
import { hostPort, leaderProxy, type LeaderView } from "./api/leader_proxy.ts";
import { renderStandbyMetrics } from "./metrics.ts";
import { type MarathonParts, runMarathon, type StartMarathonOptions } from "./start_marathon.ts";

/** How to start a Marathon on etcd. */
export interface StartHaMarathonOptions extends Omit<StartMarathonOptions, "workDir" | "kvPath"> {
  /** The etcd cluster and Tender's prefix there (parsed `--store etcd://…`). */
  etcd: { endpoints: string[]; prefix: string };
  /** The URL the other Marathons proxy to when this one leads (default `http://HOST:PORT`). */
  advertiseUrl?: string;
  /** The leadership lease, in seconds (default the election's, 2 s). */
  leaseSeconds?: number;
  /** etcd request deadline (default 5 s): past it a write fails rather than hangs. */
  etcdTimeoutMs?: number;
  /** How long a standby holds a request while no leader is known (default 5 s), then 503. */
  leaderWaitMs?: number;
  log?: Logger;
}

/** A Marathon on etcd, leading or standing by. */
export interface HaMarathon {
  /** This Marathon's URL, as it campaigns with it. */
  url: string;
  port: number;
  /** The running Marathon while this one leads. */
  leading(): MarathonParts | undefined;
  /** The leading Marathon's URL as last seen (this one's while it leads). */
  leader(): string | undefined;
  /** Resolves the next time this Marathon leads (at once while it does). */
  elected(): Promise<MarathonParts>;
  /** Gives up leadership if this Marathon leads (it campaigns again); false if it did not lead. */
  abdicate(): boolean;
  /** Stops leading (resigning, so a standby takes over at once) and serving. */
  stop(): Promise<void>;
}

/** Connects to etcd, serves as a standby, and campaigns for leadership in the background. */
export async function startHaMarathon(options: StartHaMarathonOptions): Promise<HaMarathon> {
  const log = options.log ?? createLogger({ component: "marathon" });
  const etcd = await EtcdConnection.open(options.etcd, { timeoutMs: options.etcdTimeoutMs });
  const host = options.host ?? "127.0.0.1";
  const stopping = new AbortController();
  let leaderUrl: string | undefined;
  let current: { parts: MarathonParts; abdicated: AbortController } | undefined;
  let electedWaiters: ((parts: MarathonParts) => void)[] = [];
  let changeWaiters: (() => void)[] = [];
  const changed = () => {
    for (const wake of changeWaiters.splice(0)) wake();
  };
  const view: LeaderView & { self: string } = {
    self: "",
    leader: () => leaderUrl,
    leading: (): Hono | undefined => current?.parts.api,
    abdicate: () => current?.abdicated.abort(new Error("leadership abdicated")),
    changed: (signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        changeWaiters.push(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
  };
  const front = leaderProxy(view, {
    waitMs: options.leaderWaitMs,
    signal: stopping.signal,
    standbyMetrics: renderStandbyMetrics,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: host, port: options.port ?? 8080, onListen: () => {} },
      front.fetch,
    );
  } catch (e) {
    etcd.close();
    throw e;
  }
  const port = server.addr.port;
  const self = options.advertiseUrl?.replace(/\/+$/, "") ?? `http://${host}:${port}`;
  view.self = self;

  const election = etcd.election("marathon", { ttlSeconds: options.leaseSeconds });
  const observing = election.observe((value) => {
    leaderUrl = value ?? (current ? self : undefined);
    changed();
  }, stopping.signal).catch((e) => {
    if (!stopping.signal.aborted) log.error("following the election failed", { error: String(e) });
  });

  /** Runs Marathon for one term; undefined when it could not (the term is resigned then). */
  const lead = async (leadership: Leadership): Promise<MarathonParts | undefined> => {
    try {
      return await runMarathon(etcd.store("marathon", leadership.fence), {
        ...options,
        self: { hostPort: () => hostPort(self), httpPort: () => port },
      });
    } catch (e) {
      log.error("could not take the lead; resigning", { error: String(e) });
      await leadership.resign().catch(() => {});
      await systemClock.sleep(500, stopping.signal).catch(() => {});
      return undefined;
    }
  };

  const campaigning = (async () => {
    while (!stopping.signal.aborted) {
      let leadership: Leadership;
      try {
        leadership = await election.campaign(self, stopping.signal);
      } catch (e) {
        if (stopping.signal.aborted) break;
        log.warn("campaign failed; trying again", { error: String(e) });
        await systemClock.sleep(500, stopping.signal).catch(() => {});
        continue;
      }
      const parts = await lead(leadership);
      if (!parts) continue;
      const abdicated = new AbortController();
      const term = AbortSignal.any([leadership.signal, stopping.signal, abdicated.signal]);
      if (!term.aborted) {
        current = { parts, abdicated };
        leaderUrl = self;
        changed();
        log.info("elected leading Marathon", { url: self, store: etcd.prefix });
        for (const waiter of electedWaiters.splice(0)) waiter(parts);
        await aborted(term);
        // Stop acting as leader before anything else: from here requests meet the proxy.
        current = undefined;
        if (leaderUrl === self) leaderUrl = undefined;
        changed();
      }
      if (abdicated.signal.aborted) log.info("abdicating", { url: self });
      else if (!stopping.signal.aborted) {
        log.warn("lost leadership; standing by", { reason: String(leadership.signal.reason) });
      }
      await parts.stop().catch((e) => {
        if (!(e instanceof LeadershipLostError)) {
          log.warn("stopping the leader", { error: String(e) });
        }
      });
      // Resigned only once stopped, so two schedulers never drive the framework at once.
      if (!leadership.signal.aborted) await leadership.resign().catch(() => {});
    }
  })();

  return {
    url: self,
    port,
    leading: () => current?.parts,
    leader: () => leaderUrl,
    elected: () =>
      current
        ? Promise.resolve(current.parts)
        : new Promise((resolve) => electedWaiters.push(resolve)),
    abdicate: () => {
      if (!current) return false;
      view.abdicate();
      return true;
    },
    async stop() {
      stopping.abort(new Error("marathon stopping"));
      await campaigning;
      await observing;
      electedWaiters = [];
      changeWaiters = [];
      await server.shutdown();
      etcd.close();
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
