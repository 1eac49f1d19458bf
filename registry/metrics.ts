/**
 * The registry's Prometheus metrics: request durations, blob bytes received and served,
 * manifests pushed and uploads in progress, served at `GET /metrics`.
 */
import type { Context, Hono } from "hono";
import { HttpMetrics, PROMETHEUS_CONTENT_TYPE, PrometheusWriter } from "../base/mod.ts";
import type { SecurityMetrics } from "../security/mod.ts";
import type { Registry } from "./registry.ts";
import { parseRoute } from "./route.ts";

/** Counts what the HTTP layer sees; the uploads count their own bytes. */
export class RegistryMetrics {
  readonly http = new HttpMetrics();
  manifestsPushed = 0;
  blobsServed = 0;
  blobBytesServed = 0;
  /** The 401/429/403 counters of the registry's security (the master's when beside it). */
  security: SecurityMetrics | undefined;

  /** Adds the timing and counting middleware (before the routes) and `GET /metrics`. */
  mount(app: Hono, registry: Registry): void {
    app.use(this.http.middleware());
    app.use(async (c, next) => {
      await next();
      this.#count(c);
    });
    app.get("/metrics", (c) =>
      c.body(this.render(registry), 200, {
        "Content-Type": PROMETHEUS_CONTENT_TYPE,
      }));
  }

  /** The exposition text. */
  render(registry: Registry): string {
    const uploads = registry.uploads;
    const w = new PrometheusWriter()
      .counter(
        "tender_registry_blob_bytes_uploaded_total",
        "Blob bytes received by uploads.",
        uploads.stats.bytesReceived,
      )
      .counter(
        "tender_registry_blobs_uploaded_total",
        "Uploads completed.",
        uploads.stats.completed,
      )
      .counter(
        "tender_registry_blob_bytes_served_total",
        "Blob bytes sent by GET (Content-Length of 200/206 responses).",
        this.blobBytesServed,
      )
      .counter("tender_registry_blobs_served_total", "Blob GETs answered.", this.blobsServed)
      .counter(
        "tender_registry_manifests_pushed_total",
        "Manifests stored by PUT.",
        this.manifestsPushed,
      )
      .gauge(
        "tender_registry_uploads_in_progress",
        "Upload sessions this process opened that are not finished or cancelled.",
        uploads.inProgress(),
      );
    this.http.write(w, "tender_registry");
    this.security?.write(w);
    return w.text();
  }

  #count(c: Context): void {
    const status = c.res.status;
    if (status >= 300) return;
    const route = parseRoute(new URL(c.req.url).pathname);
    if (route?.kind === "manifest" && c.req.method === "PUT") this.manifestsPushed += 1;
    if (route?.kind === "blob" && c.req.method === "GET") {
      this.blobsServed += 1;
      this.blobBytesServed += Number(c.res.headers.get("Content-Length") ?? 0) || 0;
    }
  }
}
