/**
 * The master's Prometheus metrics: `masterMetrics` renders its books, `HttpMetrics` times
 * requests by route, and `mountMasterMetrics` serves both at `GET /metrics`.
 *
 * @module
 * @example
 * ```ts
 * import { startMaster } from "../mod.ts";
 * import { mountMasterMetrics } from "./mod.ts";
 * const master = await startMaster({ port: 0, workDir: "/tmp/m", mount: mountMasterMetrics });
 * console.log(await (await fetch(`${master.url}/metrics`)).text());
 * await master.stop();
 * ```
 */
import type { Context, Hono } from "hono";
import { HttpMetrics, PROMETHEUS_CONTENT_TYPE } from "../../base/mod.ts";
import type { SecurityMetrics } from "../../security/mod.ts";
import type { FrameworkRecord } from "../core/records.ts";
import type { MasterService } from "../runtime.ts";
import { MasterInstruments, masterMetrics } from "./master_metrics.ts";

export { HttpMetrics } from "../../base/mod.ts";
export {
  MasterInstruments,
  masterMetrics,
  type MasterMetricsSources,
  renderMasterMetrics,
} from "./master_metrics.ts";
export { mesosMetricsSnapshot } from "./mesos_snapshot.ts";
export {
  addMesos,
  addResources,
  type AgentBooks,
  agentBooks,
  type AgentStatus,
  agentStatus,
  amount,
  type Amounts,
  clusterBooks,
} from "./books.ts";

/** What `mountMasterMetrics` set up, for the shell to feed. */
export interface MountedMasterMetrics {
  http: HttpMetrics;
  instruments: MasterInstruments;
  /**
   * The security counters to include (the master's `ServerSecurity.metrics`). Not `security`:
   * this function is also a `Mount`, whose extras carry a `ServerSecurity` under that name.
   */
  securityMetrics?: SecurityMetrics;
  /** The frameworks a request's caller may see in per-framework series (default: all). */
  frameworkViewer?: (c: Context) => (f: FrameworkRecord) => boolean;
}

/**
 * Adds the request-duration middleware (it times routes registered after this call), feeds
 * launch-to-running from the runtime's committed changes, and serves `GET /metrics`. Pass
 * `http`/`instruments` to share ones created (and fed) elsewhere.
 */
export function mountMasterMetrics(
  app: Hono,
  runtime: MasterService,
  options: Partial<MountedMasterMetrics> = {},
): MountedMasterMetrics {
  const http = options.http ?? new HttpMetrics();
  const instruments = options.instruments ?? new MasterInstruments(runtime.clock);
  if (!options.http) app.use(http.middleware());
  if (!options.instruments) runtime.onCommit((changes) => instruments.observeChanges(changes));
  app.get("/metrics", async (c) => {
    const framework = options.frameworkViewer?.(c);
    const text = await runtime.read(() =>
      masterMetrics(runtime, {
        http,
        instruments,
        security: options.securityMetrics,
        ...(framework ? { framework } : {}),
      })
    );
    return c.body(text, 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
  });
  return { http, instruments };
}
