import assert from "node:assert/strict";
import type { Event, FrameworkInfo, TaskInfo, TaskStatus } from "../../protocol/mod.ts";
import { FakeClock, SequentialIds, TenderError } from "../../base/mod.ts";
import { Resources } from "../../protocol/mod.ts";
import { parseAcls, parseCredentials, ServerSecurity } from "../../security/mod.ts";
import { DEFAULT_MASTER_OPTIONS } from "./context.ts";
import type { Outgoing } from "./context.ts";
import { Master } from "./master.ts";

/** A master core with the given ACLs (and credentials, so that identities bind). */
function harness(acls: object = {}, options: { authenticating?: boolean } = {}) {
  const security = new ServerSecurity({
    credentials: options.authenticating === false ? undefined : parseCredentials(
      JSON.stringify({ credentials: [{ principal: "ops", secret: "x" }] }),
    ),
    acls: parseAcls(JSON.stringify(acls)),
  });
  const master = new Master(
    { clock: new FakeClock(), ids: new SequentialIds(), authorizer: security },
    DEFAULT_MASTER_OPTIONS,
  );
  const sent: Outgoing[] = [];
  const flush = () => {
    const drained = master.drain();
    sent.push(...drained.outbox);
    return drained;
  };
  const toFramework = (id: string): Event[] =>
    sent.flatMap((o) => o.to === "framework" && o.frameworkId === id ? [o.event] : []);
  const toAgent = (id: string) =>
    sent.flatMap((o) => o.to === "agent" && o.agentId === id ? [o.event] : []);
  const subscribe = (
    info: Partial<FrameworkInfo>,
    principal: string | undefined,
    stream = "fs1",
    frameworkId?: string,
  ) => {
    const id = master.subscribeFramework(
      {
        type: "SUBSCRIBE",
        ...(frameworkId ? { framework_id: { value: frameworkId } } : {}),
        subscribe: {
          framework_info: {
            user: "web",
            name: "test",
            failover_timeout: 3600,
            ...(frameworkId ? { id: { value: frameworkId } } : {}),
            ...info,
          },
        },
      },
      stream,
      principal,
    );
    flush();
    return id;
  };
  const addAgent = (principal: string | undefined, stream = "as1", id?: string) => {
    const agentId = master.subscribeAgent(
      {
        type: "SUBSCRIBE",
        subscribe: {
          agent_info: {
            ...(id ? { id: { value: id } } : {}),
            hostname: "h1",
            port: 5051,
            resources: Resources.parse("cpus:4;mem:4096").toMesos(),
            attributes: [],
          },
          tasks: [],
        },
      },
      stream,
      undefined,
      principal,
    );
    flush();
    return agentId;
  };
  const launch = (frameworkId: string, stream: string, tasks: TaskInfo[]) => {
    master.allocatePending();
    flush();
    const offer = toFramework(frameworkId).flatMap((e) =>
      e.type === "OFFERS" ? e.offers.offers : []
    ).at(-1)!;
    master.schedulerCall(
      {
        type: "ACCEPT",
        framework_id: { value: frameworkId },
        accept: {
          offer_ids: [offer.id],
          operations: [{
            type: "LAUNCH",
            launch: {
              task_infos: tasks.map((t) => ({ ...t, agent_id: offer.agent_id })),
            },
          }],
        },
      },
      stream,
      "marathon",
    );
    return flush();
  };
  return { master, security, flush, toFramework, toAgent, subscribe, addAgent, launch };
}

function task(id: string, more: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: "" },
    resources: Resources.parse("cpus:1;mem:128").toMesos(),
    command: { value: "sleep 10" },
    ...more,
  };
}

function updates(events: Event[]): TaskStatus[] {
  return events.flatMap((e) => e.type === "UPDATE" ? [e.update.status] : []);
}

function forbiddenError(message: RegExp) {
  return (e: unknown) =>
    e instanceof TenderError && e.code === "forbidden" && message.test(e.message);
}

Deno.test("Master fills in an authenticated framework's principal and refuses a different claimed one", () => {
  const h = harness();
  const id = h.subscribe({}, "marathon");
  assert.equal(h.master.ctx.frameworks.get(id)?.info.principal, "marathon");
  assert.throws(
    () => h.subscribe({ principal: "other" }, "marathon", "fs2"),
    forbiddenError(/'framework_info.principal' \("other"\) differs from the authenticated/),
  );
});

Deno.test("Master refuses a SUBSCRIBE with another principal's framework id and changes nothing (the hijack)", () => {
  const h = harness();
  const id = h.subscribe({}, "marathon");
  h.addAgent(undefined);
  h.launch(id, "fs1", [task("web.1")]);
  const before = structuredClone(h.master.ctx.frameworks.get(id));
  assert.throws(
    () => h.subscribe({}, "mallory", "evil", id),
    forbiddenError(/registered by principal "marathon".*as principal "mallory"/),
  );
  // Nothing changed: the old stream is still Marathon's, and its disconnection alone matters.
  assert.equal(h.master.ctx.frameworkConnections.get(id)?.streamId, "fs1");
  assert.deepEqual(h.master.ctx.frameworks.get(id), before);
  const { changes, outbox } = h.flush();
  assert.deepEqual([changes, outbox], [[], []]);
  h.master.frameworkDisconnected(id, "evil");
  assert.equal(h.master.ctx.frameworkConnections.has(id), true, "Marathon stays connected");
  assert.equal(h.master.ctx.getTask(id, "web.1")?.state, "TASK_STAGING");
});

Deno.test("Master without credentials binds a framework id to the principal its FrameworkInfo claims", () => {
  const h = harness({}, { authenticating: false });
  const id = h.subscribe({ principal: "marathon" }, undefined);
  assert.throws(() => h.subscribe({}, undefined, "fs2", id), forbiddenError(/no principal/));
  assert.throws(
    () => h.subscribe({ principal: "x" }, undefined, "fs2", id),
    forbiddenError(/principal "marathon"/),
  );
  assert.equal(h.subscribe({ principal: "marathon" }, undefined, "fs3", id), id);
});

Deno.test("Master refuses an unauthenticated claim to a principal when it authenticates", () => {
  const h = harness();
  assert.throws(
    () => h.subscribe({ principal: "marathon" }, undefined),
    (e) => e instanceof TenderError && e.code === "unauthorized",
  );
  assert.equal(h.master.ctx.frameworks.size, 0);
});

Deno.test("Master refuses scheduler calls for a framework from another principal", () => {
  const h = harness();
  const id = h.subscribe({}, "marathon");
  assert.throws(
    () =>
      h.master.schedulerCall(
        { type: "TEARDOWN", framework_id: { value: id } },
        "fs1",
        "mallory",
      ),
    forbiddenError(/Principal "mallory" may not call for framework/),
  );
  assert.equal(h.master.ctx.frameworks.has(id), true);
});

Deno.test("Master refuses register_frameworks for a role the ACLs do not give the principal", () => {
  const h = harness({
    permissive: false,
    register_frameworks: [{ principals: { values: ["marathon"] }, roles: { values: ["web"] } }],
  });
  assert.throws(
    () => h.subscribe({ role: "batch" }, "marathon"),
    forbiddenError(/Principal "marathon" is not authorized to register_frameworks on "batch"/),
  );
  assert.equal(h.master.ctx.frameworks.size, 0, "nothing registered");
  assert.ok(h.subscribe({ role: "web" }, "marathon"));
});

Deno.test("Master answers an unauthorized launch with TASK_ERROR naming the ACL and launches the rest", () => {
  const h = harness({
    run_tasks: [
      { principals: { values: ["marathon"] }, users: { values: ["root"] } },
      { principals: { type: "ANY" }, users: { type: "NONE" } },
    ],
  });
  const id = h.subscribe({ user: "web" }, "marathon");
  const agent = h.addAgent(undefined);
  const { changes } = h.launch(id, "fs1", [
    task("as-root", { command: { value: "id", user: "root" } }),
    task("as-web"),
  ]);
  const refused = updates(h.toFramework(id)).find((s) => s.task_id.value === "as-web");
  assert.equal(refused?.state, "TASK_ERROR");
  assert.equal(refused?.reason, "REASON_TASK_UNAUTHORIZED");
  assert.match(refused?.message ?? "", /not authorized to run_tasks on "web"/);
  const launched = h.toAgent(agent).flatMap((e) => e.type === "LAUNCH" ? [e.launch.task] : []);
  assert.deepEqual(launched.map((t) => t.task_id.value), ["as-root"]);
  assert.equal(h.master.ctx.getTask(id, "as-web"), undefined, "a refused task is not recorded");
  assert.ok(changes.every((c) => c.kind !== "task" || c.taskId !== "as-web"));
});

Deno.test("Master refuses privileged containers and host mounts unless an ACL allows them, even with no ACL file", () => {
  const h = harness();
  const id = h.subscribe({}, "marathon");
  h.addAgent(undefined);
  h.launch(id, "fs1", [
    task("priv", {
      container: { type: "DOCKER", docker: { image: "busybox", privileged: true } },
    }),
    task("mount", {
      container: {
        type: "MESOS",
        volumes: [{ container_path: "/host", host_path: "/", mode: "RW" }],
      },
    }),
    task("source-mount", {
      container: {
        type: "MESOS",
        volumes: [{
          container_path: "data",
          source: { type: "HOST_PATH", host_path: { path: "/etc" } },
        }],
      },
    }),
    task("sandbox", {
      container: {
        type: "MESOS",
        volumes: [{
          container_path: "data",
          source: { type: "SANDBOX_PATH", sandbox_path: { type: "SELF", path: "x" } },
        }],
      },
    }),
  ]);
  const byTask = new Map(updates(h.toFramework(id)).map((s) => [s.task_id.value, s]));
  assert.match(byTask.get("priv")?.message ?? "", /launch_privileged_containers on "web"/);
  assert.match(byTask.get("mount")?.message ?? "", /mount_host_paths on "\/"/);
  assert.match(byTask.get("source-mount")?.message ?? "", /mount_host_paths on "\/etc"/);
  assert.equal(byTask.get("sandbox"), undefined, "a sandbox volume needs no ACL");
  assert.equal(h.master.ctx.getTask(id, "sandbox")?.state, "TASK_STAGING");
  const counted = new Map<string, number>();
  const w = {
    counter: (_n: string, _h: string, v: unknown) => {
      if (Array.isArray(v)) { for (const s of v) counted.set(s.labels.action, s.value); }
      return w;
    },
  };
  h.security.metrics.write(w as never);
  assert.equal(counted.get("launch_privileged_containers"), 1);
  assert.equal(counted.get("mount_host_paths"), 2);
});

Deno.test("Master gates docker parameters that reach past the container like privileged and host mounts", () => {
  const h = harness({
    mount_host_paths: [{ principals: { values: ["marathon"] }, paths: { values: ["/srv"] } }],
  });
  const id = h.subscribe({}, "marathon");
  h.addAgent(undefined);
  const docker = (key: string, value: string) => ({
    resources: Resources.parse("cpus:0.1;mem:16").toMesos(),
    container: {
      type: "DOCKER" as const,
      docker: { image: "busybox", parameters: [{ key, value }] },
    },
  });
  h.launch(id, "fs1", [
    task("cap", docker("cap-add", "SYS_ADMIN")),
    task("pid", docker("pid", "host")),
    task("device", docker("device", "/dev/fuse")),
    task("etc", docker("volume", "/etc:/host-etc:ro")),
    task("srv", docker("volume", "/srv/data:/data")),
    task("label", docker("label", "team=web")),
    task("ipc", docker("ipc", "private")),
  ]);
  const byTask = new Map(updates(h.toFramework(id)).map((s) => [s.task_id.value, s]));
  for (const refused of ["cap", "pid", "device"]) {
    assert.equal(byTask.get(refused)?.state, "TASK_ERROR", refused);
    assert.match(byTask.get(refused)?.message ?? "", /launch_privileged_containers on "web"/);
  }
  assert.match(byTask.get("etc")?.message ?? "", /mount_host_paths on "\/etc"/);
  for (const allowed of ["srv", "label", "ipc"]) {
    assert.equal(byTask.get(allowed), undefined, allowed);
    assert.equal(h.master.ctx.getTask(id, allowed)?.state, "TASK_STAGING");
  }
});

Deno.test("Master lets an ACL allow host mounts below a path", () => {
  const h = harness({
    mount_host_paths: [{ principals: { values: ["marathon"] }, paths: { values: ["/srv"] } }],
  });
  const id = h.subscribe({}, "marathon");
  h.addAgent(undefined);
  h.launch(id, "fs1", [
    task("ok", {
      container: { type: "MESOS", volumes: [{ container_path: "d", host_path: "/srv/data" }] },
    }),
    task("no", {
      container: { type: "MESOS", volumes: [{ container_path: "d", host_path: "/srvx" }] },
    }),
  ]);
  assert.equal(h.master.ctx.getTask(id, "ok")?.state, "TASK_STAGING");
  assert.equal(
    updates(h.toFramework(id)).find((s) => s.task_id.value === "no")?.state,
    "TASK_ERROR",
  );
});

Deno.test("Master refuses a SUBSCRIBE as an existing agent from another principal, and its calls", () => {
  const h = harness();
  const agent = h.addAgent("agent-1");
  const before = structuredClone(h.master.ctx.agents.get(agent));
  for (const principal of ["mallory", undefined]) {
    assert.throws(
      () => h.addAgent(principal, "evil", agent),
      forbiddenError(/Agent ".*" is registered by principal "agent-1"/),
    );
  }
  assert.deepEqual(h.master.ctx.agents.get(agent), before);
  assert.equal(h.master.ctx.agentConnections.get(agent)?.streamId, "as1");
  assert.deepEqual(h.flush().outbox, [], "nothing sent to anyone");
  assert.throws(
    () => h.master.agentCall({ type: "HEARTBEAT", agent_id: { value: agent } }, "mallory"),
    forbiddenError(/may not act as it/),
  );
  assert.equal(h.addAgent("agent-1", "as2", agent), agent, "its own principal may");
});

Deno.test("Master refuses register_agents by hostname", () => {
  const h = harness({
    permissive: false,
    register_agents: [{ principals: { values: ["agent"] }, agents: { values: ["h2"] } }],
  });
  assert.throws(
    () => h.addAgent("agent"),
    forbiddenError(/Principal "agent" is not authorized to register_agents on "h1"/),
  );
  assert.equal(h.master.ctx.agents.size, 0);
});

Deno.test("Master offers an agent that serves TLS with an https url", () => {
  const h = harness();
  const id = h.subscribe({}, "marathon");
  h.master.subscribeAgent(
    {
      type: "SUBSCRIBE",
      subscribe: {
        agent_info: {
          hostname: "h1",
          port: 5051,
          resources: Resources.parse("cpus:1;mem:128").toMesos(),
          attributes: [],
        },
        tasks: [],
        scheme: "https",
      },
    },
    "as1",
    "10.0.0.1",
    "agent",
  );
  h.master.allocatePending();
  h.flush();
  const offer = h.toFramework(id).flatMap((e) => e.type === "OFFERS" ? e.offers.offers : [])[0];
  assert.equal(offer?.url?.scheme, "https");
});
