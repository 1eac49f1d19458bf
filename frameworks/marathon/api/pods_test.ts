import assert from "node:assert/strict";
import { post, withApi } from "./testing.ts";

/** A two-container pod sharing an ephemeral volume, on the host's network. */
function webPod(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "/web-pod",
    containers: [
      {
        name: "server",
        exec: { command: { shell: "httpd -f -p $ENDPOINT_HTTP -h shared" } },
        resources: { cpus: 0.1, mem: 32 },
        endpoints: [{ name: "http", hostPort: 0, labels: { service_port: "10101" } }],
        volumeMounts: [{ name: "shared", mountPath: "shared" }],
        healthCheck: { http: { endpoint: "http", path: "/" } },
      },
      {
        name: "sidecar",
        exec: { command: { shell: "sleep 1000" } },
        resources: { cpus: 0.1, mem: 32 },
        volumeMounts: [{ name: "shared", mountPath: "shared" }],
      },
    ],
    volumes: [{ name: "shared" }],
    scaling: { kind: "fixed", instances: 2 },
    ...extra,
  };
}

const put = (json: unknown) => ({ method: "PUT", json });

Deno.test("POST /v2/pods answers 201 with the pod and Marathon's defaults; GET shows it", async () => {
  await withApi(async ({ request }) => {
    assert.equal((await request("/v2/pods", { method: "HEAD" })).status, 200);
    const res = await request("/v2/pods", post(webPod()));
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("location"), "http://localhost/v2/pods/web-pod");
    assert.ok(res.headers.get("marathon-deployment-id"));
    const pod = await res.json();
    assert.equal(pod.id, "/web-pod");
    assert.equal(pod.version, "2026-01-01T00:00:00.000Z");
    assert.equal(pod.versionInfo, undefined, "Tender's bookkeeping is not shown");
    assert.deepEqual(pod.networks, [{ mode: "host", labels: {} }]);
    assert.deepEqual(pod.scaling, { kind: "fixed", instances: 2 });
    assert.deepEqual(pod.executorResources, { cpus: 0.1, mem: 32, disk: 10 });
    assert.deepEqual(pod.scheduling.upgrade, { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
    assert.deepEqual(pod.scheduling.backoff, {
      backoff: 1,
      backoffFactor: 1.15,
      maxLaunchDelay: 300,
    });
    assert.equal(pod.scheduling.killSelection, "YOUNGEST_FIRST");
    assert.deepEqual(pod.containers[0].resources, { cpus: 0.1, mem: 32, disk: 0, gpus: 0 });
    assert.deepEqual(pod.containers[0].healthCheck.http, {
      endpoint: "http",
      path: "/",
      scheme: "HTTP",
    });
    assert.equal(pod.containers[0].healthCheck.intervalSeconds, 60);

    assert.deepEqual((await (await request("/v2/pods")).json()).map((p: { id: string }) => p.id), [
      "/web-pod",
    ]);
    assert.equal((await (await request("/v2/pods/web-pod")).json()).id, "/web-pod");
    const missing = await request("/v2/pods/nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { message: "Pod '/nope' does not exist" });

    const dup = await request("/v2/pods", post(webPod()));
    assert.equal(dup.status, 409);
    assert.deepEqual(await dup.json(), { message: "A pod with id [/web-pod] already exists." });
    const app = await request("/v2/apps", post({ id: "/web-pod", cmd: "sleep 1" }));
    assert.equal(app.status, 409, "apps and pods share one id space");
    await request("/v2/apps", post({ id: "/an-app", cmd: "sleep 1" }));
    const pod2 = await request("/v2/pods", post({ ...webPod(), id: "/an-app" }));
    assert.equal(pod2.status, 409);
    assert.deepEqual(await pod2.json(), { message: "An app with id [/an-app] already exists." });
  });
});

Deno.test("POST /v2/pods answers 422 naming every field Tender cannot honour", async () => {
  await withApi(async ({ request }) => {
    const details = async (pod: Record<string, unknown>) => {
      const res = await request("/v2/pods", post(pod));
      assert.equal(res.status, 422, JSON.stringify(pod));
      const body = await res.json();
      return Object.fromEntries(
        body.details.map((d: { path: string; errors: string[] }) => [d.path, d.errors.join("; ")]),
      ) as Record<string, string>;
    };
    const base = webPod();
    const [server, sidecar] = base.containers as Record<string, unknown>[];
    const unsupported = await details({
      ...base,
      user: "../root",
      volumes: [{ name: "shared" }, { name: "data", persistent: { size: 10 } }],
      containers: [
        { ...server, artifacts: [{ uri: "hdfs://x/a.tgz" }], readinessCheck: { name: "r" } },
        { ...sidecar, image: { kind: "APPC", id: "x" }, tty: true, user: "a b" },
      ],
    });
    // A user is honoured (each container's CommandInfo.user); one that is no user name is not.
    assert.match(unsupported["/user"]!, /must be a user name/);
    assert.match(unsupported["/volumes(1)/persistent"]!, /persistent volumes are not supported/);
    // Artifacts are fetched by the agents, which fetch http(s) and files only.
    assert.match(unsupported["/containers(0)/artifacts(0)/uri"]!, /not hdfs:/);
    assert.match(unsupported["/containers(0)/readinessCheck"]!, /not supported/);
    assert.match(unsupported["/containers(1)/image/kind"]!, /APPC is not supported/);
    assert.match(unsupported["/containers(1)/tty"]!, /not supported/);
    assert.match(unsupported["/containers(1)/user"]!, /must be a user name/);

    const rules = await details({
      ...base,
      networks: [{ mode: "container", name: "dcos" }],
      containers: [
        {
          ...server,
          endpoints: [{ name: "http" }],
          volumeMounts: [{ name: "nope", mountPath: "/abs" }],
          healthCheck: { tcp: { endpoint: "other" } },
        },
        { ...sidecar, name: "server" },
      ],
    });
    assert.match(rules["/networks(0)/mode"]!, /container networks by name are not supported/);
    assert.match(rules["/containers(0)/endpoints(0)/hostPort"]!, /required with host networking/);
    assert.match(rules["/containers(0)/volumeMounts(0)/name"]!, /names no volume/);
    assert.match(rules["/containers(0)/volumeMounts(0)/mountPath"]!, /must be relative/);
    assert.match(rules["/containers(0)/healthCheck"]!, /names no endpoint/);
    assert.match(rules["/containers(1)/name"]!, /not unique/);

    const bridged = await details({ ...base, networks: [{ mode: "container/bridge" }] });
    assert.match(bridged["/containers(0)/image"]!, /required with container\/bridge/);
    assert.match(bridged["/containers(0)/endpoints(0)/containerPort"]!, /required/);

    const group = await request("/v2/groups", post({ id: "/g", pods: [webPod()] }));
    assert.equal(group.status, 422);
    assert.match(
      JSON.stringify(await group.json()),
      /pods in a group definition are not supported/,
    );

    const typed = await request("/v2/pods", post({ ...base, scaling: { instances: "two" } }));
    assert.equal(typed.status, 422);
    assert.deepEqual(await typed.json(), {
      message: "Invalid JSON",
      details: [{ path: "/scaling/instances", errors: ["error.expected.jsnumber"] }],
    });
  });
});

Deno.test("PUT /v2/pods/{id} scales or restarts through a deployment; versions, status, delete", async () => {
  await withApi(async ({ request, clock }) => {
    const created = await (await request("/v2/pods", post(webPod()))).json();
    clock.advance(1000);
    const scaled = await request(
      "/v2/pods/web-pod?force=true",
      put(webPod({ scaling: { instances: 3 } })),
    );
    assert.equal(scaled.status, 200);
    const deployments = await (await request("/v2/deployments")).json();
    const scaling = deployments.find((d: { id: string }) =>
      d.id === scaled.headers.get("marathon-deployment-id")
    );
    assert.deepEqual(scaling.affectedPods, ["/web-pod"]);
    assert.deepEqual(scaling.affectedApps, []);
    assert.deepEqual(scaling.steps, [{
      actions: [{ action: "ScaleApplication", pod: "/web-pod" }],
    }]);

    clock.advance(1000);
    const changed = webPod({ scaling: { instances: 3 }, labels: { tier: "web" } });
    const restart = await request("/v2/pods/web-pod?force=true", put(changed));
    assert.equal(restart.status, 200, "force cancels the deployment holding the pod");
    const again = (await (await request("/v2/deployments")).json()).find((d: { id: string }) =>
      d.id === restart.headers.get("marathon-deployment-id")
    );
    assert.deepEqual(again.steps, [{
      actions: [{ action: "RestartApplication", pod: "/web-pod" }],
    }]);
    const locked = await request("/v2/pods/web-pod", put(webPod()));
    assert.equal(locked.status, 409, "a deployment holds the pod");

    const mismatch = await request("/v2/pods/web-pod", put({ ...changed, id: "/other" }));
    assert.equal(mismatch.status, 422);

    const versions = await (await request("/v2/pods/web-pod::versions")).json();
    assert.equal(versions.length, 3);
    const first = await (await request(`/v2/pods/web-pod::versions/${created.version}`)).json();
    assert.deepEqual(first.scaling, { kind: "fixed", instances: 2 });

    const status = await (await request("/v2/pods/web-pod::status")).json();
    assert.equal(status.id, "/web-pod");
    assert.equal(status.status, "DEPLOYING");
    assert.deepEqual(status.instances, []);
    assert.deepEqual(status.spec.labels, { tier: "web" });
    assert.equal((await (await request("/v2/pods/::status")).json()).length, 1);

    const unknown = await request("/v2/pods/web-pod::instances/web-pod.instance-x", {
      method: "DELETE",
    });
    assert.equal(unknown.status, 404);

    const created2 = await request("/v2/pods/new-pod", put({ ...webPod(), id: undefined }));
    assert.equal(created2.status, 201);
    assert.equal(created2.headers.get("location"), "http://localhost/v2/pods/new-pod");

    const deleted = await request("/v2/pods/web-pod?force=true", { method: "DELETE" });
    assert.equal(deleted.status, 202);
    assert.ok(deleted.headers.get("marathon-deployment-id"));
    assert.equal((await request("/v2/pods/web-pod")).status, 404);
    assert.equal((await request("/v2/pods/web-pod", { method: "DELETE" })).status, 404);
  });
});
