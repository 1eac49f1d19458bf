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
import { createLogger, type Logger } from "../../base/mod.ts";
import { Candidacy, EtcdConnection } from "../../store/mod.ts";
import { hostPort, leaderProxy, type LeaderView } from "./api/leader_proxy.ts";
import { renderStandbyMetrics } from "./metrics.ts";
import {
  ClientSecurity,
  type ListeningServer,
  schemeOf,
  serveHttp,
  ServerSecurity,
} from "../../security/mod.ts";
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
  const candidacy = new Candidacy<MarathonParts>(
    etcd.election("marathon", { ttlSeconds: options.leaseSeconds }),
    {
      log,
      what: "Marathon",
      lead: (leadership) =>
        runMarathon(etcd.store("marathon", leadership.fence), {
          ...options,
          // Another Marathon subscribed as the framework: it was elected meanwhile. Step down.
          onFrameworkTakenOver: () => void candidacy.abdicate(),
          self: { hostPort: () => hostPort(view.self), httpPort: () => port },
        }),
    },
  );
  let changeWaiters: (() => void)[] = [];
  const view: LeaderView & { self: string } = {
    self: "",
    leader: () => candidacy.leader(),
    leading: (): Hono | undefined => candidacy.leading()?.api,
    abdicate: () => void candidacy.abdicate(),
    changed: (signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        changeWaiters.push(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
  };
  const security = options.security ?? ServerSecurity.off();
  // Proxied requests carry their caller's credentials, never this Marathon's: only its CA.
  const toLeader = new ClientSecurity({ caCerts: [...(options.client?.caCerts ?? [])] });
  const front = leaderProxy(view, {
    waitMs: options.leaderWaitMs,
    signal: stopping.signal,
    standbyMetrics: () => renderStandbyMetrics(security.metrics),
    security,
    realm: options.realm,
    fetch: (request) => toLeader.fetch(request),
  });
  let server: ListeningServer;
  try {
    server = await serveHttp(
      { hostname: host, port: options.port ?? 8080, tls: options.tls },
      front.fetch,
    );
  } catch (e) {
    etcd.close();
    toLeader.close();
    throw e;
  }
  const port = server.addr.port;
  const self = options.advertiseUrl?.replace(/\/+$/, "") ??
    `${schemeOf(options.tls)}://${host}:${port}`;
  view.self = self;
  candidacy.onChange(() => {
    for (const wake of changeWaiters.splice(0)) wake();
  });
  candidacy.start(self);
  return {
    url: self,
    port,
    leading: () => candidacy.leading(),
    leader: () => candidacy.leader(),
    elected: () => candidacy.elected(),
    abdicate: () => candidacy.abdicate(),
    async stop() {
      stopping.abort(new Error("marathon stopping"));
      await candidacy.stop();
      changeWaiters = [];
      await server.shutdown();
      etcd.close();
      toLeader.close();
    },
  };
}
