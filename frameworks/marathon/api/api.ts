/**
 * Marathon's REST API v2 over hono: apps and tasks (`apps_routes.ts`), pods (`pods_routes.ts`), deployments, groups,
 * queue, events (SSE), info, leader, ping. One `onError` writes Marathon's error bodies:
 * `{"message": …}` plus `details` (array or string) or extra fields such as `deployments`.
 */
import { type Context, Hono } from "hono";
import {
  clientAddress,
  type Clock,
  type FailureRenderer,
  httpErrorHandler,
  type HttpMetrics,
  PROMETHEUS_CONTENT_TYPE,
  requestLimits,
  StreamSlots,
  TenderError,
} from "../../../base/mod.ts";
import { LeadershipLostError } from "../../../store/mod.ts";
import { Backoff } from "../deployment/backoff.ts";
import { configVersion } from "../deployment/reconcile.ts";
import type { EventBus, MarathonEvent } from "../events/event_bus.ts";
import { eventPaths } from "../events/event_paths.ts";
import { actionJson, type MarathonService, stepsJson } from "../service/marathon_service.ts";
import { resetLaunchDelay } from "../core/launch_queue.ts";
import { runOperation } from "../runtime.ts";
import { groupExists, groupTree } from "../service/views.ts";
import { podStatuses } from "../service/pod_statuses.ts";
import { queuedPods, queueObject } from "../service/queue_view.ts";
import type { App } from "../app/normalize.ts";
import { isChildOf, segments } from "../app/path_id.ts";
import { appsRoutes, storedAppInfo } from "./apps_routes.ts";
import { podsRoutes } from "./pods_routes.ts";
import { secretsRoutes } from "./secrets_routes.ts";
import type { SecretStore } from "../secrets/secret_store.ts";
import {
  deleteGroup,
  groupAt,
  groupVersions,
  patchGroup,
  updateGroup,
} from "../service/group_ops.ts";
import { body, clientIp, embeds, flag } from "./request.ts";
import { ServerSecurity } from "../../../security/mod.ts";
import { MARATHON_REALM, marathonAuthentication, RequestAccess } from "./auth.ts";

/** What the API shows about this Marathon in `/v2/info` and `/v2/leader`. */
export interface ApiInfo {
  /** `host:port` of this API (Marathon's leader field). */
  leader: string;
  master: string;
  frameworkId(): string | undefined;
  httpPort: number;
  /** What this Marathon was started with, as `marathon_config` shows it (else Marathon's defaults). */
  config?: {
    localPortMin: number;
    localPortMax: number;
    reconciliationIntervalMs: number;
    role?: string;
  };
}

/** Dependencies of the API. */
export interface MarathonApiDeps {
  service: MarathonService;
  events: EventBus;
  clock: Clock;
  info: ApiInfo;
  backoff?: Backoff;
  /** Why the last offers did not fit each app (`InsufficientMemory: …`), for `/v2/queue`. */
  offerReasons?: (appId: string) => readonly string[] | undefined;
  /** Times every route and serves `GET /metrics` with this text. */
  metrics?: { http: HttpMetrics; render(): Promise<string> };
  /** Credentials and ACLs (default: off, everyone may do everything). */
  security?: ServerSecurity;
  /** The realm of the 401 challenge (default Marathon's, `Mesosphere`). */
  realm?: string;
  /** Why this Marathon has no framework at the master now, if it lost it (`/v2/info`, `/ping`). */
  frameworkLoss?: () => { message: string; at: string } | undefined;
  /** The secret store behind `/v2/secrets` (absent: no `--secrets-key-file`, the routes say so). */
  secrets?: SecretStore;
}

/** Builds the hono app serving Marathon's REST API. */
export function marathonApi(deps: MarathonApiDeps): Hono {
  const { service, events, clock, info } = deps;
  const store = service.store;
  const backoff = deps.backoff ?? new Backoff();
  const api = new Hono();
  const metrics = deps.metrics;
  const streams = new StreamSlots();
  const security = deps.security ?? ServerSecurity.off();
  const access = (c: Context) => RequestAccess.of(security, c);
  if (metrics) api.use(metrics.http.middleware());
  api.use(requestLimits());
  api.use(marathonAuthentication(security, deps.realm ?? MARATHON_REALM));
  if (metrics) {
    api.get(
      "/metrics",
      async (c) => c.body(await metrics.render(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE }),
    );
  }

  api.onError(httpErrorHandler("marathon api", marathonJson));
  api.notFound((c) => c.json({ message: `Not found: ${c.req.method} ${c.req.path}` }, 404));

  // A Marathon whose framework the master removed is not fit to serve: load balancers see it.
  api.get("/ping", (c) => {
    const lost = deps.frameworkLoss?.();
    return lost ? c.text(`framework lost: ${lost.message}`, 503) : c.text("pong");
  });
  api.get("/v2/leader", (c) => c.json({ leader: info.leader }));
  api.get("/v2/info", (c) =>
    c.json({
      name: "marathon",
      version: "1.10.0-tender",
      buildref: "tender",
      elected: true,
      leader: info.leader,
      frameworkId: info.frameworkId() ?? null,
      ...(deps.frameworkLoss?.() ? { frameworkLost: deps.frameworkLoss() } : {}),
      marathon_config: {
        master: info.master,
        local_port_min: info.config?.localPortMin ?? 10000,
        local_port_max: info.config?.localPortMax ?? 20000,
        task_launch_timeout: 300000,
        reconciliation_interval: info.config?.reconciliationIntervalMs ?? 600000,
        max_instances_per_offer: 5,
        mesos_role: info.config?.role ?? "*",
        features: [],
      },
      zookeeper_config: {},
      http_config: { http_port: info.httpPort, https_port: 8443 },
    }));

  appsRoutes(api, service, access);
  podsRoutes(api, service, access);
  secretsRoutes(api, { secrets: deps.secrets, service, access });

  const touched = (d: { affectedApps: string[]; pods?: string[] }) => [
    ...new Set([...d.affectedApps, ...(d.pods ?? [])]),
  ];
  api.get("/v2/deployments", async (c) => {
    const who = access(c);
    const list = (await store.state()).deployments().filter((d) =>
      touched(d).some((id) => who.canView(id))
    );
    const apps = new Map((await store.state()).apps().map((a) => [a.id, a]));
    const instances = (await store.state()).instances();
    const readiness = (appId: string) => {
      const app = apps.get(appId);
      const check = app?.readinessChecks[0];
      if (!app || !check) return [];
      return instances
        .filter((i) =>
          i.appId === appId && i.version === configVersion(app) && i.condition === "Running"
        )
        .map((i) => ({
          taskId: i.taskId,
          name: check.name,
          ready: i.ready === true,
          lastResponse: null,
        }));
    };
    return c.json(list.map((d) => ({
      id: d.id,
      version: d.version,
      affectedApps: d.affectedApps.filter((id) => !d.pods?.includes(id)),
      affectedPods: d.pods ?? [],
      steps: stepsJson(d),
      currentActions: (d.steps[d.currentStep - 1]?.actions ?? []).map((a) => ({
        ...actionJson(d, a),
        readinessCheckResults: readiness(a.app),
      })),
      currentStep: d.currentStep,
      totalSteps: d.steps.length,
    })));
  });

  api.delete("/v2/deployments/:id", async (c) => {
    const who = access(c);
    const record = (await store.state()).deployment(c.req.param("id"));
    for (const id of record ? touched(record) : []) who.authorize("update_apps", id);
    const r = await service.cancelDeployment(c.req.param("id"), {
      force: flag(c, "force"),
      clientIp: clientIp(c),
      authorize: who.authorize,
    });
    if (!r) return c.body(null, 202);
    c.header("Marathon-Deployment-Id", r.deploymentId);
    return c.json({ deploymentId: r.deploymentId, version: r.version });
  });

  const renderApp = (a: App, embed: Set<string>) =>
    storedAppInfo(store, a, {
      tasks: embed.has("tasks") || embed.has("failures"),
      lastTaskFailure: embed.has("lastTaskFailure") || embed.has("failures"),
    });
  // Marathon's group embeds: `group.groups`, `group.apps`, `group.pods` (all three when none is
  // given) and `group.apps.<app embed>`, which also shows the apps.
  const groups = async (rootId: string, c: Context) => {
    const who = access(c);
    const asked = c.req.queries("embed") ?? [];
    const all = asked.length === 0;
    const appEmbeds = embeds(c);
    const embed = {
      apps: all || asked.some((e) => e === "group.apps" || e.startsWith("group.apps.")),
      groups: all || asked.includes("group.groups"),
      pods: all || asked.includes("group.pods"),
    };
    const apps = (await store.state()).apps().filter((a) => who.canView(a.id));
    const records = (await store.state()).groups().filter((g) => who.canView(g.id));
    const pods = (await podStatuses(store)).filter((p) => who.canView(p.id));
    if (
      !who.canView(rootId) && ![...apps, ...pods, ...records].some((m) => isChildOf(m.id, rootId))
    ) who.mustView(rootId);
    const renders = new Map(
      await Promise.all(apps.map(async (a) => [a.id, await renderApp(a, appEmbeds)] as const)),
    );
    const rootVersion = (await store.state()).rootVersions()[0] ??
      new Date(clock.now()).toISOString();
    return groupTree(
      rootId,
      apps,
      records,
      (a) => renders.get(a.id)!,
      rootVersion,
      { embed, pods },
    );
  };
  // Marathon's paths below /v2/groups: {id}, {id}/apps, {id}/versions, {id}/versions/{version}
  // (the root's without the id).
  api.get("/v2/groups/*", async (c) => {
    const s = segments(c.req.path.slice("/v2/groups".length));
    const idOf = (n: number) => "/" + s.slice(0, s.length - n).join("/");
    const who = access(c);
    if (s.at(-1) === "apps") {
      const id = idOf(1);
      const apps = (await store.state()).apps();
      if (!groupExists(id, apps, (await store.state()).groups())) return c.json([]);
      return c.json(
        await Promise.all(
          apps.filter((a) => isChildOf(a.id, id) && who.canView(a.id)).map((a) =>
            renderApp(a, embeds(c))
          ),
        ),
      );
    }
    if (s.at(-1) === "versions") {
      who.mustView(idOf(1));
      return c.json(await groupVersions(service, idOf(1)));
    }
    if (s.at(-2) === "versions") {
      const version = s.at(-1)!;
      who.mustView(idOf(2));
      const { apps, groups, snapshot } = await groupAt(service, idOf(2), version);
      return c.json(
        groupTree(
          idOf(2),
          apps.filter((a) => who.canView(a.id)),
          groups.filter((g) => who.canView(g.id)),
          (a) => ({ ...a }),
          snapshot.version,
        ),
      );
    }
    const id = idOf(0);
    const members = [...(await store.state()).apps(), ...(await store.state()).pods()];
    if (!groupExists(id, members, (await store.state()).groups())) {
      throw new TenderError("not_found", `Group '${id}' does not exist`);
    }
    return c.json(await groups(id, c));
  });
  api.get("/v2/groups", async (c) => c.json(await groups("/", c)));
  const postGroup = async (c: Context, groupId?: string) => {
    const r = await service.createGroup(await body(c), {
      force: flag(c, "force"),
      clientIp: clientIp(c),
      authorize: access(c).authorize,
      ...(groupId ? { groupId } : {}),
    });
    c.header("Marathon-Deployment-Id", r.deploymentId);
    c.header("Location", new URL(`/v2/groups${groupId ?? ""}`, c.req.url).toString());
    return c.json({ deploymentId: r.deploymentId, version: r.version }, 201);
  };
  api.post("/v2/groups", (c) => postGroup(c));
  api.post(
    "/v2/groups/*",
    (c) => postGroup(c, "/" + c.req.path.slice("/v2/groups/".length).replace(/\/+$/, "")),
  );

  const groupIdOf = (c: Context) =>
    "/" + c.req.path.slice("/v2/groups".length).replace(/^\/+|\/+$/g, "");
  for (const path of ["/v2/groups", "/v2/groups/*"]) {
    api.put(path, async (c) => {
      const dryRun = flag(c, "dryRun");
      const r = await updateGroup(service, groupIdOf(c), await body(c), {
        force: flag(c, "force"),
        clientIp: clientIp(c),
        authorize: access(c).authorize,
        dryRun,
      });
      if (dryRun) return c.json({ steps: r.steps });
      c.header("Marathon-Deployment-Id", r.deploymentId);
      return c.json({ deploymentId: r.deploymentId, version: r.version });
    });
    api.patch(path, async (c) => {
      await patchGroup(service, groupIdOf(c), await body(c), { authorize: access(c).authorize });
      return c.body(null, 200);
    });
    api.delete(path, async (c) => {
      const r = await deleteGroup(service, groupIdOf(c), {
        force: flag(c, "force", true),
        clientIp: clientIp(c),
        authorize: access(c).authorize,
      });
      c.header("Marathon-Deployment-Id", r.deploymentId);
      return c.json({ deploymentId: r.deploymentId, version: r.version });
    });
  }

  const queueDeps = (now: number) => ({
    store,
    backoff,
    now,
    ...(deps.offerReasons ? { offerReasons: deps.offerReasons } : {}),
  });
  api.get("/v2/queue", async (c) => {
    const now = clock.now();
    const queue: Record<string, unknown>[] = [];
    const who = access(c);
    for (const app of (await store.state()).apps().filter((a) => who.canView(a.id))) {
      const entry = await queueObject(app, queueDeps(now));
      if (entry) queue.push({ app, ...entry });
    }
    // Marathon's queue holds pods too (`QueuePod`), after the apps.
    const pods = await queuedPods({ ...queueDeps(now), visible: (id) => who.canView(id) });
    return c.json({ queue: [...queue, ...pods] });
  });
  api.delete("/v2/queue/*", async (c) => {
    const m = /^\/v2\/queue(\/.+)\/delay$/.exec(c.req.path);
    if (!m) throw new TenderError("not_found", `Unknown resource ${c.req.path}`);
    const id = m[1]!;
    resetLaunchDelay(await store.state(), id); // 404 before 403, as Marathon
    access(c).authorize("update_apps", id);
    await runOperation({ store }, (books) => resetLaunchDelay(books, id));
    return c.body(null, 204);
  });

  api.get("/v2/events", (c) => {
    if (!(c.req.header("accept") ?? "").includes("text/event-stream")) {
      throw new TenderError(
        "method_not_allowed",
        "The event stream needs 'Accept: text/event-stream'",
      );
    }
    // A principal sees the events of the apps and pods it may view; those about no app (the
    // scheduler's registration, a root group change) only with view on the root.
    const who = access(c);
    const visible = who.canView("/") ? undefined : (e: MarathonEvent) => {
      const paths = eventPaths(e);
      return paths.length > 0 && paths.some((p) => who.canView(p));
    };
    const client = clientAddress(c);
    streams.acquire(client)(); // refuses a client over its share before subscribing
    const stream = streams.hold(
      client,
      events.subscribe({
        eventTypes: c.req.queries("event_type") ?? [],
        remoteAddress: clientIp(c),
        ...(visible ? { visible } : {}),
      }),
    );
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      },
    });
  });

  return api;
}

/**
 * Marathon's error body: `{"message": …}` plus `details` (an array or a string) or the detail
 * object's own fields (e.g. `deployments`). A write refused because this Marathon was deposed
 * while answering changed nothing: the caller is told to retry at the leader.
 */
const marathonJson: FailureRenderer = (failure, c) => {
  if (failure.thrown instanceof LeadershipLostError) {
    return c.json({ message: `${failure.message}; try again at the leader` }, failure.status, {
      "Retry-After": "1",
    });
  }
  const d = failure.details;
  const extra = Array.isArray(d) || typeof d === "string"
    ? { details: d }
    : typeof d === "object" && d !== null
    ? d
    : {};
  return c.json({ message: failure.message, ...extra }, failure.status);
};
