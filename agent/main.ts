/** `deno task agent --master URL[,URL...] ...`: parses the flags and starts an agent. */
import {
  createLogger,
  fileLimitWarning,
  type Logger,
  Masters,
  openFilesLimit,
  resolveLogLevel,
} from "../base/mod.ts";
import { clientSecurityFlags, serverSecurityFlags } from "../security/mod.ts";
import { etcdMasterLeader } from "../store/mod.ts";
import { type AgentFlags, parseAgentFlags, USAGE } from "./flags.ts";
import { startAgent } from "./start_agent.ts";

/** Agent messages about something going wrong; the rest are informational. */
const TROUBLE = /lost|fail|not sent|not recorded|error|ignoring|refus|retrying/i;

let flags: AgentFlags;
let log: Logger;
let masters: Masters;
try {
  flags = parseAgentFlags(Deno.args);
} catch (e) {
  console.error(`${e instanceof Error ? e.message : e}\nusage: ${USAGE}`);
  Deno.exit(2);
}
// Exits 2 naming the flag when a file cannot be read or parsed.
const { security, tls } = await serverSecurityFlags(flags.securityFlags.server, USAGE);
const client = await clientSecurityFlags(flags.securityFlags.client, USAGE);
try {
  masters = new Masters(flags.master, { etcd: etcdMasterLeader(), fetch: client.fetch });
  log = createLogger({
    level: flags.logLevel ?? resolveLogLevel(undefined, Deno.env.get("TENDER_LOG_LEVEL")),
    component: "agent",
  });
} catch (e) {
  console.error(`${e instanceof Error ? e.message : e}\nusage: ${USAGE}`);
  Deno.exit(2);
}
const lowFiles = fileLimitWarning(openFilesLimit());
if (lowFiles) log.warn(lowFiles);
const { logLevel: _, securityFlags: __, ...options } = flags;
const running = await startAgent({
  ...options,
  security,
  tls,
  client,
  master: masters,
  log: (m) => TROUBLE.test(m) ? log.warn(m) : log.info(m),
}).catch((e) => {
  // A start that cannot succeed (no engine at its socket, a port taken) says why, without a trace.
  console.error(JSON.stringify({
    level: "error",
    msg: `agent cannot start: ${e instanceof Error ? e.message : e}`,
  }));
  Deno.exit(1);
});
// The listening line is the process's contract: printed whatever the level.
console.log(JSON.stringify({
  level: "info",
  msg: "agent listening",
  url: running.url,
  containerizer: running.containerizer.kind,
  master: options.master,
}));
const shutdown = async () => {
  log.info("stopping");
  await running.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
