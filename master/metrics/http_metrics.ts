/** Request durations by route pattern, method and status, as a Prometheus histogram. */
import type { MiddlewareHandler } from "hono";
import { Histogram, type PrometheusWriter } from "../../protocol/prometheus.ts";

/** Records each request's duration (until its response starts) under its route pattern. */
export class HttpMetrics {
  readonly durations = new Histogram();
  readonly #now: () => number;

  /** `now` in milliseconds; defaults to `performance.now`. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * The hono middleware. Hono runs handlers in registration order, so it times the routes
   * registered after it; requests no route matched are labelled `route="unmatched"`.
   */
  middleware(): MiddlewareHandler {
    const self: MiddlewareHandler = async (c, next) => {
      const start = this.#now();
      await next();
      const matched = c.req.matchedRoutes.at(-1);
      const route = matched === undefined || matched.handler === self
        ? "unmatched"
        : c.req.routePath;
      this.durations.observe((this.#now() - start) / 1000, {
        route,
        method: c.req.method,
        status: String(c.res.status),
      });
    };
    return self;
  }

  /** Writes the `http_request_duration_seconds` family. */
  write(writer: PrometheusWriter, prefix: string): void {
    writer.histogram(
      `${prefix}_http_request_duration_seconds`,
      "HTTP request durations (until the response starts) by route pattern, method and status.",
      this.durations.samples(),
    );
  }
}
