/** `/v2/apps` and `/v2/tasks`: thin handlers over the service; failures go to `onError`. */
import type { Context, Hono } from "hono";
import { jsonStream, lazyArray, TenderError } from "../../../base/mod.ts";
import type { App } from "../app/normalize.ts";
import type { Instance } from "../model/instance.ts";
import type { DeploymentResult, MarathonService } from "../service/marathon_service.ts";
import { appInfo, taskJson } from "../service/views.ts";
import { type KillResult, killTasks } from "../service/kill_tasks.ts";
import { appIdOfInstance, instanceIdOfTask } from "../app/path_id.ts";
import type { MarathonStore } from "../store/store.ts";
import { parseLabelSelector } from "./label_selector.ts";
import { appPath, body, clientIp, embeds, flag } from "./request.ts";
import type { RequestAccess } from "./auth.ts";

/** An app's AppInfo from what the store holds, with its tasks and last failure as asked. */
export async function storedAppInfo(
  store: MarathonStore,
  app: App,
  embed: { tasks: boolean; lastTaskFailure: boolean },
): Promise<Record<string, unknown>> {
  const books = await store.state();
  return appInfo(app, books.instances(app.id), books.lock(app.id), {
    tasks: embed.tasks,
    ...(embed.lastTaskFailure ? { lastTaskFailure: books.lastFailure(app.id) } : {}),
  });
}

/** Registers the app and task routes. */
export function appsRoutes(
  api: Hono,
  service: MarathonService,
  access: (c: Context) => RequestAccess,
): void {
  const store = service.store;
  const info = (app: App, embedTasks: boolean) =>
    storedAppInfo(store, app, { tasks: embedTasks, lastTaskFailure: true });
  const mutation = (c: Context) => ({
    force: flag(c, "force"),
    clientIp: clientIp(c),
    uri: c.req.path,
    authorize: access(c).authorize,
  });
  const deployed = (c: Context, r: DeploymentResult, status: 200 | 201 = 200) => {
    c.header("Marathon-Deployment-Id", r.deploymentId);
    return c.json({ deploymentId: r.deploymentId, version: r.version }, status);
  };
  /** The app, if the request may view it (404 when it does not exist, else 403). */
  const mustGet = async (c: Context, id: string): Promise<App> => {
    const app = (await store.state()).app(id);
    if (!app) throw new TenderError("not_found", `App '${id}' does not exist`);
    access(c).mustView(app.id);
    return app;
  };

  api.get("/v2/apps", async (c) => {
    const id = c.req.query("id")?.toLowerCase();
    const cmd = c.req.query("cmd")?.toLowerCase();
    const label = c.req.query("label");
    let select: (labels: Record<string, string>) => boolean = () => true;
    if (label !== undefined) {
      try {
        select = parseLabelSelector(label);
      } catch (e) {
        throw new TenderError("bad_request", e instanceof Error ? e.message : String(e));
      }
    }
    const e = embeds(c);
    const who = access(c);
    const apps = (await store.state()).apps().filter((a) =>
      who.canView(a.id) && (id === undefined || a.id.toLowerCase().includes(id)) &&
      (cmd === undefined || (a.cmd ?? "").toLowerCase().includes(cmd)) && select(a.labels)
    );
    // Streamed: each app's info is built as the client reads (10,000 apps are not one string).
    const embedTasks = e.has("tasks") || e.has("failures");
    return streamed(c, { apps: lazyArray(apps, (a) => info(a, embedTasks)) });
  });

  api.post("/v2/apps", async (c) => {
    const r = await service.createApp(await body(c), mutation(c));
    const app = r.apps[0]!;
    c.header("Location", new URL(`/v2/apps${app.id}`, c.req.url).toString());
    c.header("Marathon-Deployment-Id", r.deploymentId);
    return c.json({ ...(await info(app, false)), deployments: [{ id: r.deploymentId }] }, 201);
  });

  api.put("/v2/apps", async (c) => deployed(c, await service.putApps(await body(c), mutation(c))));

  api.get("/v2/apps/*", async (c) => {
    const p = appPath(c.req.path.slice("/v2/apps".length));
    if (p.kind === "app" && p.id.endsWith("/*")) {
      const group = p.id.slice(0, -2);
      const who = access(c);
      const apps = (await store.state()).apps().filter((a) =>
        a.id.startsWith(`${group}/`) && who.canView(a.id)
      );
      return c.json({ "*": await Promise.all(apps.map((a) => info(a, true))) });
    }
    if (p.kind === "app") return c.json({ app: await info(await mustGet(c, p.id), true) });
    if (p.kind === "versions") {
      await mustGet(c, p.id);
      return c.json({ versions: await store.listVersions(p.id) });
    }
    if (p.kind === "version") {
      access(c).mustView(p.id);
      const v = await store.getVersion(p.id, p.version);
      if (!v) {
        throw new TenderError("not_found", `App '${p.id}' does not exist in version ${p.version}`);
      }
      return c.json(v);
    }
    if (p.kind === "tasks") {
      const app = await mustGet(c, p.id);
      return c.json({
        tasks: (await store.state()).instances(app.id).map((i) => taskJson(app, i)),
      });
    }
    throw new TenderError("not_found", `Unknown resource ${c.req.path}`);
  });

  api.put("/v2/apps/*", async (c) => {
    const p = appPath(c.req.path.slice("/v2/apps".length));
    if (p.kind !== "app") {
      throw new TenderError("method_not_allowed", `PUT is not supported on ${c.req.path}`);
    }
    const r = await service.putApp(p.id, await body(c), {
      ...mutation(c),
      partialUpdate: flag(c, "partialUpdate", true),
    });
    if (r.created) c.header("Location", new URL(`/v2/apps${r.apps[0]!.id}`, c.req.url).toString());
    return deployed(c, r, r.created ? 201 : 200);
  });

  api.patch("/v2/apps/*", async (c) => {
    const p = appPath(c.req.path.slice("/v2/apps".length));
    if (p.kind !== "app") {
      throw new TenderError("method_not_allowed", `PATCH is not supported on ${c.req.path}`);
    }
    return deployed(c, await service.patchApp(p.id, await body(c), mutation(c)));
  });

  api.post("/v2/apps/*", async (c) => {
    const p = appPath(c.req.path.slice("/v2/apps".length));
    if (p.kind !== "restart") throw new TenderError("not_found", `Unknown resource ${c.req.path}`);
    return deployed(c, await service.restartApp(p.id, mutation(c)));
  });

  const killed = async (c: Context, r: KillResult, one: boolean) => {
    if ("deployment" in r) return deployed(c, r.deployment);
    const apps = new Map((await store.state()).apps().map((a) => [a.id, a]));
    const tasks = r.killed.map((i) => taskJson(apps.get(i.appId), i));
    return c.json(one ? { task: tasks[0] } : { tasks });
  };
  const killFlags = (c: Context) => {
    if (flag(c, "scale") && flag(c, "wipe")) {
      throw new TenderError("bad_request", "You cannot use scale and wipe at the same time.");
    }
    return { ...mutation(c), scale: flag(c, "scale"), wipe: flag(c, "wipe") };
  };

  api.delete("/v2/apps/*", async (c) => {
    const p = appPath(c.req.path.slice("/v2/apps".length));
    if (p.kind === "tasks" || p.kind === "task") {
      const host = c.req.query("host");
      const selection = p.kind === "task" ? { taskIds: [p.taskId] } : host ? { host } : {};
      return killed(c, await killTasks(service, p.id, selection, killFlags(c)), p.kind === "task");
    }
    if (p.kind !== "app") {
      throw new TenderError("method_not_allowed", `DELETE is not supported on ${c.req.path}`);
    }
    return deployed(
      c,
      await service.deleteApp(p.id, { ...mutation(c), force: flag(c, "force", true) }),
    );
  });

  api.post("/v2/tasks/delete", async (c) => {
    const raw = await body(c);
    const ids = typeof raw === "object" && raw !== null && "ids" in raw && Array.isArray(raw.ids)
      ? raw.ids.map(String)
      : undefined;
    if (!ids) throw new TenderError("bad_request", 'Expected a body {"ids": [taskId, ...]}');
    const byApp = Map.groupBy(
      ids,
      (taskId: string) => appIdOfInstance(instanceIdOfTask(taskId)) ?? "",
    );
    if (byApp.has("")) {
      throw new TenderError("bad_request", `Invalid task id '${byApp.get("")![0]}'`);
    }
    const results: KillResult[] = [];
    for (const [appId, taskIds] of byApp) {
      results.push(await killTasks(service, appId, { taskIds }, killFlags(c)));
    }
    const last = results.findLast((r) => "deployment" in r);
    if (last && "deployment" in last) return deployed(c, last.deployment);
    return killed(c, { killed: results.flatMap((r) => ("killed" in r ? r.killed : [])) }, false);
  });

  api.get("/v2/tasks", async (c) => {
    const wanted = new Set((c.req.queries("status") ?? []).map((s) => s.toLowerCase()));
    const who = access(c);
    const apps = new Map(
      (await store.state()).apps().filter((a) => who.canView(a.id)).map((a) => [a.id, a]),
    );
    const keep = (i: Instance) =>
      apps.has(i.appId) &&
      (wanted.size === 0 || (wanted.has("running") && i.condition === "Running") ||
        (wanted.has("staging") && (i.condition === "Staging" || i.condition === "Starting")));
    // App tasks only: a pod's are shown by /v2/pods/{id}::status.
    const tasks = (await store.state()).instances().filter((i) => !i.tasks && keep(i));
    return streamed(c, { tasks: lazyArray(tasks, (i) => taskJson(apps.get(i.appId), i)) });
  });
}

/** A 200 whose JSON body is written as the client reads it (`jsonStream`). */
function streamed(c: Context, value: unknown): Response {
  return c.body(jsonStream(value), 200, { "Content-Type": "application/json" });
}
