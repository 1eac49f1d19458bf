/**
 * The autoscaler's HTTP API: `/ping`, `/status` (per app: policy, instances, metric, desired),
 * `/events` (recent scalings, refusals and changes of reason, oldest first) and `/metrics`.
 */
import { Hono } from "hono";
import {
  httpErrorHandler,
  PROMETHEUS_CONTENT_TYPE,
  PrometheusWriter,
  requestLimits,
  type Sample,
} from "../base/mod.ts";
import type { Autoscaler } from "./autoscaler.ts";
import { authenticate, ServerSecurity } from "../security/mod.ts";

/** Builds the hono app over an autoscaler; with credentials, every route but /ping needs them. */
export function autoscalerApi(
  autoscaler: Autoscaler,
  security: ServerSecurity = ServerSecurity.off(),
): Hono {
  const api = new Hono();
  api.onError(httpErrorHandler("autoscaler", (f, c) => c.json({ message: f.message }, f.status)));
  api.use(requestLimits());
  api.use(authenticate(security, {
    realm: "autoscaler",
    required: (c) => c.req.path !== "/ping",
    render: (c, status, message) => c.json({ message }, status),
  }));
  api.get("/ping", (c) => c.text("pong"));
  api.get("/status", (c) => c.json([...autoscaler.status.values()]));
  api.get(
    "/events",
    (c) => c.json(autoscaler.events.map((e) => ({ ...e, at: new Date(e.at).toISOString() }))),
  );
  api.get(
    "/metrics",
    (c) =>
      c.body(renderAutoscalerMetrics(autoscaler, security), 200, {
        "Content-Type": PROMETHEUS_CONTENT_TYPE,
      }),
  );
  api.notFound((c) => c.json({ message: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  return api;
}

/** The exposition text: decisions by app and kind, and each app's last view. */
export function renderAutoscalerMetrics(
  a: Autoscaler,
  security: ServerSecurity = ServerSecurity.off(),
): string {
  const decisions: Sample[] = [...a.decisions].flatMap(([app, c]) =>
    (["up", "down", "hold"] as const).map((d) => ({ labels: { app, decision: d }, value: c[d] }))
  );
  const status = [...a.status.values()];
  const per = (pick: (s: (typeof status)[number]) => number | undefined): Sample[] =>
    status.flatMap((s) => {
      const v = pick(s);
      return v === undefined ? [] : [{ labels: { app: s.appId }, value: v }];
    });
  const lastScale = new Map<string, number>();
  for (const e of a.events) {
    if (e.type === "scale_up" || e.type === "scale_down") lastScale.set(e.appId, e.at / 1000);
  }
  const w = new PrometheusWriter();
  security.metrics.write(w);
  return w
    .counter("tender_autoscaler_passes_total", "Passes over Marathon's apps.", a.passes)
    .counter(
      "tender_autoscaler_pass_failures_total",
      "Passes that could not read Marathon.",
      a.passFailures,
    )
    .counter("tender_autoscaler_decisions_total", "Decisions, by app and kind.", decisions)
    .gauge(
      "tender_autoscaler_instances",
      "Instances Marathon runs, as last read.",
      per((s) => s.instances),
    )
    .gauge(
      "tender_autoscaler_desired_instances",
      "Instances the last decision wanted.",
      per((s) => s.desired),
    )
    .gauge(
      "tender_autoscaler_metric_value",
      "The metric per running instance (rps, or CPU utilisation 0-1).",
      status.flatMap((s) =>
        s.value === undefined || !s.policy
          ? []
          : [{ labels: { app: s.appId, metric: s.policy.metric }, value: s.value }]
      ),
    )
    .gauge(
      "tender_autoscaler_target",
      "The policy's target per instance.",
      per((s) => s.policy?.target),
    )
    .gauge(
      "tender_autoscaler_last_scale_timestamp_seconds",
      "When the app was last scaled.",
      [...lastScale].map(([app, v]) => ({ labels: { app }, value: v })),
    )
    .gauge(
      "tender_autoscaler_invalid_policy",
      "1 for an app whose autoscaling labels are invalid.",
      status.filter((s) => s.invalid).map((s) => ({ labels: { app: s.appId }, value: 1 })),
    )
    .text();
}
