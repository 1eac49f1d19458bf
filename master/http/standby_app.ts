/**
 * What a standby master serves: who leads, and a redirect there. Scheduler, agent and operator
 * calls answer `307` with the leader's URL (as Mesos' standbys do); reads that clients follow
 * (state, catalog, logs) are redirected too; `/health`, `/metrics` and the dashboard answer here
 * and say this master stands by.
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type { SecurityMetrics } from "../../security/mod.ts";
import {
  httpErrorHandler,
  plainText,
  PROMETHEUS_CONTENT_TYPE,
  PrometheusWriter,
} from "../../base/mod.ts";
import { VERSION } from "./state_json.ts";

/** This master and the one it follows. */
export interface StandbyView {
  /** This master's base URL, as others reach it. */
  self: string;
  /** The leading master's base URL, or undefined while none is elected. */
  leader(): string | undefined;
  /** When this master started (ms since the epoch). */
  startTime: number;
  /** Why no leader is elected, when known (etcd unreachable, no quorum). */
  trouble(): string | undefined;
}

/** Builds the standby's hono app. */
export function standbyApp(
  view: StandbyView,
  options: { middleware?: MiddlewareHandler[]; security?: SecurityMetrics } = {},
): Hono {
  const app = new Hono();
  app.onError(httpErrorHandler("master (standby)", plainText));
  for (const m of options.middleware ?? []) app.use(m);
  const noLeader = (c: Context) => {
    const trouble = view.trouble();
    const message = trouble === undefined
      ? "no leading master elected yet; try again shortly"
      : `no leading master: ${trouble}`;
    return c.json({ message }, 503, { "Retry-After": "1" });
  };
  const redirect = (c: Context) => {
    const leader = view.leader();
    if (leader === undefined) return noLeader(c);
    const url = new URL(c.req.url);
    return c.body(null, 307, { Location: `${leader}${url.pathname}${url.search}` });
  };

  app.get("/master/redirect", (c) => {
    const leader = view.leader();
    return leader === undefined ? noLeader(c) : c.body(null, 307, { Location: leader });
  });
  for (const path of ["/api/v1/scheduler", "/api/v1/agent", "/api/v1"]) app.post(path, redirect);
  for (const path of ["/health", "/master/health"]) {
    app.get(path, (c) => c.json({ role: "standby", leader: view.leader() ?? null }));
  }
  const state = (c: Context) => c.json(standbyState(view));
  for (const path of ["/master/state", "/master/state.json", "/state", "/state.json"]) {
    app.get(path, state);
  }
  app.get("/metrics", (c) => {
    const w = new PrometheusWriter()
      .gauge("tender_master_elected", "1 when this master leads, 0 when it stands by.", 0)
      .gauge("tender_master_start_time_seconds", "When the master started.", view.startTime / 1000);
    options.security?.write(w);
    const text = w.text();
    return c.body(text, 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
  });
  for (const path of ["/", "/dashboard", "/dashboard/"]) {
    app.get(path, (c) => c.html(standbyPage(view)));
  }
  // Quota, weights and maintenance (operator_roles.ts): reads and changes are the leader's.
  for (const path of ["/quota", "/quota/*", "/weights", "/maintenance/*", "/machine/*"]) {
    app.all(path, redirect);
    app.all(`/master${path}`, redirect);
  }
  app.get("/api/v1/services", redirect);
  app.get("/api/v1/services/*", redirect);
  app.get("/dashboard/*", redirect);
  return app;
}

/** `/master/state` of a standby: no books, but who leads, as Mesos' standbys answer. */
export function standbyState(view: StandbyView) {
  const self = new URL(view.self);
  const leader = view.leader();
  const leaderUrl = leader === undefined ? undefined : new URL(leader);
  return {
    version: VERSION,
    start_time: view.startTime / 1000,
    pid: `master@${self.hostname}:${portOf(self)}`,
    hostname: self.hostname,
    activated_slaves: 0,
    deactivated_slaves: 0,
    unreachable_slaves: 0,
    ...(leaderUrl
      ? {
        leader: `master@${leaderUrl.hostname}:${portOf(leaderUrl)}`,
        leader_info: {
          hostname: leaderUrl.hostname,
          port: portOf(leaderUrl),
          address: { hostname: leaderUrl.hostname, port: portOf(leaderUrl) },
        },
      }
      : {}),
    slaves: [],
    frameworks: [],
    completed_frameworks: [],
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

function portOf(url: URL): number {
  return Number(url.port || (url.protocol === "https:" ? 443 : 80));
}

function standbyPage(view: StandbyView): string {
  const leader = view.leader();
  const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const who = leader === undefined
    ? "No master leads yet; this page reloads until one does."
    : `The leading master is <a href="${escape(leader)}/">${escape(leader)}</a>.`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Tender — standby master</title>
<meta http-equiv="refresh" content="3"></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem">
<h1>Standby master</h1><p>This master (${escape(view.self)}) stands by. ${who}</p>
</body></html>`;
}
