/**
 * `deno task sim --master URL --agents N ...`: N simulated agents in this process, each a
 * real agent connection to the master (see `sim_agents.ts`). Prints one JSON line once every
 * agent has subscribed (or waited its turn), then runs until SIGINT/SIGTERM.
 */
import { loggerFlag, mastersFlag, parseFlags, portFlag, usageError } from "../../base/mod.ts";
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  clientSecurityFlags,
} from "../../security/mod.ts";
import { etcdMasterLeader } from "../../store/mod.ts";
import { limitConcurrency, SIM_RESOURCES, startSimulatedAgents } from "./sim_agents.ts";

const USAGE = `usage: deno task sim --master URL[,URL...] --agents N
  [--resources '${SIM_RESOURCES}' (each agent's)]
  [--attributes 'rack:r1;zone:z1'] [--hostname-prefix sim (agents sim-00001, ...; also their ids)]
  [--host 127.0.0.1] [--port 0 (the one server all agents share)] [--work-dir DIR (a temp dir)]
  [--status-update-retry-ms 10000] [--log-level debug|info|warn|error (warn)]
Calls to the master:
${CLIENT_SECURITY_USAGE}`;

const flags = parseFlags(USAGE, {
  master: { type: "string" },
  agents: { type: "string" },
  resources: { type: "string" },
  attributes: { type: "string" },
  "hostname-prefix": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "work-dir": { type: "string" },
  "status-update-retry-ms": { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean" },
  ...CLIENT_SECURITY_FLAGS,
});
const agents = Number(flags.agents);
if (flags.agents === undefined || !Number.isInteger(agents) || agents < 1) {
  usageError(`--agents must be a whole number of at least 1, got "${flags.agents ?? ""}"`, USAGE);
}
const retry = flags["status-update-retry-ms"];
if (retry !== undefined && !(Number(retry) > 0)) {
  usageError(`--status-update-retry-ms must be a positive number, got "${retry}"`, USAGE);
}
const log = loggerFlag("sim", flags["log-level"], USAGE);
const client = await clientSecurityFlags(flags, USAGE);
const masters = mastersFlag(flags.master, {
  usage: USAGE,
  deps: { etcd: etcdMasterLeader(), fetch: limitConcurrency(client.fetch) },
});
const ownWorkDir = flags["work-dir"] === undefined;
const workDir = flags["work-dir"] ?? await Deno.makeTempDir({ prefix: "tender-sim-" });
const startedAt = performance.now();
const sim = await startSimulatedAgents({
  master: masters,
  agents,
  resources: flags.resources,
  attributes: flags.attributes,
  hostnamePrefix: flags["hostname-prefix"],
  host: flags.host,
  port: portFlag("port", flags.port, { usage: USAGE }),
  workDir,
  statusUpdateRetryMs: retry === undefined ? undefined : Number(retry),
  log: (m) => log.info(m),
}).catch((e) => usageError(`sim cannot start: ${e instanceof Error ? e.message : e}`, USAGE));
// The ready line is the process's contract: printed whatever the level.
console.log(JSON.stringify({
  level: "info",
  msg: "sim ready",
  agents,
  connected: sim.connected(),
  url: sim.url,
  seconds: Number(((performance.now() - startedAt) / 1000).toFixed(2)),
}));
const shutdown = async () => {
  await sim.stop();
  if (ownWorkDir) await Deno.remove(workDir, { recursive: true }).catch(() => {});
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
