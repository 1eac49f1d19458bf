/**
 * A master among several on one etcd: it serves as a standby (redirecting to the leader) until
 * its election wins, then recovers the books from etcd and leads, every write fenced by its
 * leadership. When leadership is lost (lease expired while paused or cut off, a newer leader)
 * it stops leading at once — the standby routes answer again, the books and streams are
 * dropped, agents and frameworks reconnect to the new leader — and it campaigns again.
 */
import { createLogger, type Logger, systemClock } from "../base/mod.ts";
import { Candidacy, EtcdConnection } from "../store/mod.ts";
import { schemeOf, serveHttp, ServerSecurity } from "../security/mod.ts";
import { masterAuthentication } from "./http/auth.ts";
import { standbyApp } from "./http/standby_app.ts";
import {
  checkSecurityOptions,
  lead,
  type Leading,
  masterSettings,
  type StartMasterOptions,
} from "./mod.ts";
import { MasterStore } from "./store/master_store.ts";

/** How to start a master on etcd. */
export interface StartHaMasterOptions extends StartMasterOptions {
  /** The etcd cluster and Tender's prefix there (parsed `--store etcd://…`). */
  etcd: { endpoints: string[]; prefix: string };
  /** The URL other processes reach this master at (default `http(s)://HOST:PORT`). */
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
  checkSecurityOptions(options);
  // One security for every term of leadership and the standby, so counters add up.
  const security = options.security ?? ServerSecurity.off();
  const log = options.log ?? createLogger({ component: "master" });
  const etcd = await EtcdConnection.open(options.etcd, { timeoutMs: options.etcdTimeoutMs });
  const host = options.host ?? "127.0.0.1";
  const settings = masterSettings(options);
  const candidacy = new Candidacy<Leading>(
    etcd.election("master", { ttlSeconds: options.leaseSeconds }),
    {
      log,
      what: "master",
      lead: (leadership) =>
        lead(new MasterStore(etcd.store("master", leadership.fence)), settings, {
          ...options,
          security,
          self: view.self,
        }),
    },
  );
  const view = {
    self: "",
    leader: () => candidacy.leader(),
    trouble: () => candidacy.trouble(),
    startTime: (options.clock ?? systemClock).now(),
  };
  const standby = standbyApp(view, {
    middleware: [
      masterAuthentication(security, options.authenticate ?? {}, { standby: true }),
    ],
    security: security.metrics,
  });
  const server = await serveHttp(
    { hostname: host, port: options.port ?? 5050, tls: options.tls },
    (request, info) => (candidacy.leading()?.app ?? standby).fetch(request, info),
  );
  settings.port = server.addr.port;
  const self = options.advertiseUrl?.replace(/\/+$/, "") ??
    `${schemeOf(options.tls)}://${host}:${server.addr.port}`;
  view.self = self;
  candidacy.start(self);
  return {
    url: self,
    port: server.addr.port,
    leading: () => candidacy.leading(),
    leader: () => candidacy.leader(),
    elected: () => candidacy.elected(),
    async stop() {
      await candidacy.stop();
      await server.shutdown();
      etcd.close();
    },
  };
}
