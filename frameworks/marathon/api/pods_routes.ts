/**
 * `/v2/pods`: thin handlers over the pod operations (`service/pods.ts`) and views; failures go to
 * `onError`. Paths as Marathon's: `{id}`, `{id}::status`, `::status`, `{id}::versions[/{v}]`,
 * `{id}::instances[/{instanceId}]` (ids have slashes; `::` marks the sub-resource).
 */
import type { Context, Hono } from "hono";
import { TenderError } from "../../../base/mod.ts";
import { resolvePathId } from "../app/path_id.ts";
import type { MarathonService } from "../service/marathon_service.ts";
import { podInstanceJson, podStatusJson } from "../service/pod_views.ts";
import { createPod, deletePod, killPodInstances, noSuchPod, putPod } from "../service/pods.ts";
import { podJson } from "../pod/parse.ts";
import type { Pod } from "../pod/schema.ts";
import { body, clientIp, flag } from "./request.ts";
import type { RequestAccess } from "./auth.ts";

/** What follows `/v2/pods` in a pod route. */
export type PodPath =
  | { kind: "pod"; id: string }
  | { kind: "status"; id: string }
  | { kind: "versions"; id: string; version?: string }
  | { kind: "instances"; id: string; instanceId?: string };

/** Splits a pod route: the pod id, then `::status`, `::versions[/v]` or `::instances[/id]`. */
export function podPath(rest: string): PodPath {
  const path = rest.replace(/^\/+|\/+$/g, "");
  const m = /^(.*?)::(status|versions|instances)(?:\/([^/]+))?$/.exec(path);
  if (!m) {
    if (path.includes("::")) {
      throw new TenderError("not_found", `Unknown resource /v2/pods/${path}`);
    }
    return { kind: "pod", id: resolvePathId(path) };
  }
  const id = m[1] === "" ? "" : resolvePathId(m[1]!);
  const sub = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
  if (m[2] === "status") return { kind: "status", id };
  if (m[2] === "versions") return { kind: "versions", id, ...(sub ? { version: sub } : {}) };
  return { kind: "instances", id, ...(sub ? { instanceId: sub } : {}) };
}

/** Registers the pod routes. */
export function podsRoutes(
  api: Hono,
  service: MarathonService,
  access: (c: Context) => RequestAccess,
): void {
  const store = service.store;
  const mutation = (c: Context) => ({
    force: flag(c, "force"),
    clientIp: clientIp(c),
    uri: c.req.path,
    authorize: access(c).authorize,
  });
  /** The pod, if the request may view it (404 when it does not exist, else 403). */
  const mustGet = async (c: Context, id: string): Promise<Pod> => {
    const pod = (await store.state()).pod(id);
    if (!pod) throw noSuchPod(id);
    access(c).mustView(pod.id);
    return pod;
  };
  const visiblePods = async (c: Context) => {
    const who = access(c);
    return (await store.state()).pods().filter((p) => who.canView(p.id));
  };
  const status = async (pod: Pod) =>
    podStatusJson(pod, (await store.state()).instances(pod.id), {
      deploying: (await store.state()).lock(pod.id) !== undefined,
    });
  const rest = (c: Context) => podPath(c.req.path.slice("/v2/pods".length));

  // Marathon's clients ask HEAD /v2/pods whether pods are supported.
  api.on("HEAD", "/v2/pods", (c) => c.body(null, 200));
  api.get("/v2/pods", async (c) => c.json((await visiblePods(c)).map(podJson)));

  api.post("/v2/pods", async (c) => {
    const r = await createPod(service, await body(c), mutation(c));
    c.header("Location", new URL(`/v2/pods${r.pod.id}`, c.req.url).toString());
    c.header("Marathon-Deployment-Id", r.deploymentId);
    return c.json(podJson(r.pod), 201);
  });

  api.get("/v2/pods/*", async (c) => {
    const p = rest(c);
    if (p.kind === "status" && p.id === "") {
      return c.json(await Promise.all((await visiblePods(c)).map(status)));
    }
    if (p.id === "" || p.id === "/") throw new TenderError("not_found", "No pod id given");
    if (p.kind === "pod") return c.json(podJson(await mustGet(c, p.id)));
    if (p.kind === "status") return c.json(await status(await mustGet(c, p.id)));
    if (p.kind === "versions") {
      if (p.version === undefined) {
        await mustGet(c, p.id);
        return c.json(await store.listPodVersions(p.id));
      }
      access(c).mustView(p.id);
      const pod = await store.getPodVersion(p.id, p.version);
      if (!pod) {
        throw new TenderError("not_found", `Pod '${p.id}' does not exist in version ${p.version}`);
      }
      return c.json(podJson(pod));
    }
    throw new TenderError("method_not_allowed", `GET is not supported on ${c.req.path}`);
  });

  api.put("/v2/pods/*", async (c) => {
    const p = rest(c);
    if (p.kind !== "pod") {
      throw new TenderError("method_not_allowed", `PUT is not supported on ${c.req.path}`);
    }
    const r = await putPod(service, p.id, await body(c), mutation(c));
    c.header("Marathon-Deployment-Id", r.deploymentId);
    if (r.created) c.header("Location", new URL(`/v2/pods${r.pod.id}`, c.req.url).toString());
    return c.json(podJson(r.pod), r.created ? 201 : 200);
  });

  api.delete("/v2/pods/*", async (c) => {
    const p = rest(c);
    if (p.kind === "pod") {
      const r = await deletePod(service, p.id, mutation(c));
      c.header("Marathon-Deployment-Id", r.deploymentId);
      return c.body(null, 202);
    }
    if (p.kind !== "instances") {
      throw new TenderError("method_not_allowed", `DELETE is not supported on ${c.req.path}`);
    }
    if (p.instanceId !== undefined) {
      const r = await killPodInstances(service, p.id, [p.instanceId], mutation(c));
      return c.json(podInstanceJson(r.pod, r.killed[0]!));
    }
    const ids = await body(c);
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === "string")) {
      throw new TenderError("bad_request", 'Expected a body ["instanceId", ...]');
    }
    const r = await killPodInstances(service, p.id, ids, mutation(c));
    return c.json(r.killed.map((i) => podInstanceJson(r.pod, i)));
  });
}
