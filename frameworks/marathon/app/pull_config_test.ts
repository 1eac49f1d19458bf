import assert from "node:assert/strict";
import { Resources, secretBytes, TaskInfoSchema } from "../../../protocol/mod.ts";
import { checkApp, parseApp } from "./parse.ts";
import { toTaskInfo } from "./task_info.ts";

const match = {
  agentId: "agent-1",
  hostname: "node1",
  resources: Resources.scalars({ cpus: 0.5, mem: 64 }).toMesos(),
  hostPorts: [],
};
const CONFIG = '{"auths": {"reg:5000": {"auth": "dTpw"}}}';

const ucrApp = (docker: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  id: "/private",
  cmd: "sleep 100",
  container: { type: "MESOS", docker: { image: "reg:5000/app:1", ...docker } },
  secrets: { pull: { source: "/pullconfig" } },
  ...more,
});

function errorsAt(raw: unknown, path: string): string[] {
  const r = checkApp(raw);
  assert.ok(!r.ok, "must be rejected");
  return r.details.filter((d) => d.path === path).flatMap((d) => d.errors);
}

Deno.test("toTaskInfo() gives a MESOS app's pullConfig as Image.Docker.config, a VALUE secret", () => {
  const app = parseApp(ucrApp({ pullConfig: { secret: "pull" }, forcePullImage: true }));
  const info = TaskInfoSchema.parse(
    toTaskInfo(app, "private.instance-1", match, new Map([["/pullconfig", CONFIG]])),
  );
  const image = info.container?.mesos?.image;
  assert.equal(image?.type, "DOCKER");
  assert.equal(image?.docker?.name, "reg:5000/app:1");
  assert.equal(image?.cached, false, "forcePullImage: the agent pulls even when it has the image");
  const config = secretBytes(image?.docker?.config, "config");
  assert.ok(config.ok);
  assert.equal(new TextDecoder().decode(config.bytes), CONFIG);
  assert.throws(
    () => toTaskInfo(app, "private.instance-1", match),
    /secret 'pull' \(\/pullconfig\) has no value/,
  );
});

Deno.test("checkApp() refuses pullConfig on Docker and one naming an undeclared secret, as Marathon", () => {
  const docker = { ...ucrApp({ pullConfig: { secret: "pull" } }) };
  docker.container = { ...docker.container, type: "DOCKER" };
  assert.deepEqual(errorsAt(docker, "/container/docker/pullConfig"), [
    "pullConfig is not supported with Docker containerizer",
  ]);
  const undeclared = ucrApp({ pullConfig: { secret: "other" } });
  assert.deepEqual(errorsAt(undeclared, "/container/docker/pullConfig"), [
    "pullConfig.secret must refer to an existing secret",
  ]);
  assert.ok(checkApp(ucrApp({ pullConfig: { secret: "pull" } })).ok);
});
