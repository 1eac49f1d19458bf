/**
 * `deno task dev`: a whole local cluster in one process — master, one agent and the image
 * registry (and, as they land, the Marathon framework, discovery and the router) — with
 * state under `./.tender/`. Ctrl-C stops everything, the agent's tasks included.
 */
import { parseArgs } from "node:util";
import { type ContainerizerKind, startAgent } from "./agent/mod.ts";
import { startMaster } from "./master/mod.ts";
import { serveRegistry } from "./registry/mod.ts";

const USAGE = `Usage: deno task dev [--work-dir ./.tender] [--master-port 5050] [--agent-port 5051]
  [--registry-port 5000] [--containerizer docker|process] [--resources 'cpus:2;mem:2048']`;

let args;
try {
  args = parseArgs({
    args: Deno.args,
    options: {
      "work-dir": { type: "string", default: "./.tender" },
      "master-port": { type: "string", default: "5050" },
      "agent-port": { type: "string", default: "5051" },
      "registry-port": { type: "string", default: "5000" },
      containerizer: { type: "string" },
      resources: { type: "string" },
      help: { type: "boolean" },
    },
  }).values;
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  Deno.exit(2);
}
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const containerizer = args.containerizer;
if (containerizer !== undefined && !["docker", "process"].includes(containerizer)) {
  console.error(`--containerizer must be docker or process, got "${containerizer}"`);
  Deno.exit(2);
}
const workDir = args["work-dir"]!;

const master = await startMaster({
  port: Number(args["master-port"]),
  workDir: `${workDir}/master`,
});
const registry = await serveRegistry({
  port: Number(args["registry-port"]),
  workDir: `${workDir}/registry`,
});
const agent = await startAgent({
  master: master.url,
  port: Number(args["agent-port"]),
  workDir: `${workDir}/agent`,
  hostname: "localhost",
  containerizer: containerizer as ContainerizerKind | undefined,
  resources: args.resources,
});

console.log(`
Tender dev cluster is up (state in ${workDir}/):
  master     ${master.url}        GET /master/state, POST /api/v1/scheduler
  agent      ${agent.url}        containerizer: ${agent.containerizer.kind}
  registry   ${registry.url}        docker push 127.0.0.1:${registry.port}/NAME:TAG
Try: deno run -A examples/hello-framework.ts --master ${master.url}
Ctrl-C stops everything.`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("stopping: killing the agent's tasks, then the agent, registry and master");
  // Nothing is left behind: every container the agent owns is destroyed first.
  const owned = await agent.containerizer.recover(new Set()).catch(() => []);
  await Promise.all(owned.map((c) => agent.containerizer.destroy(c.id, 2_000).catch(() => {})));
  await agent.stop();
  await registry.close();
  await master.stop();
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, shutdown);
