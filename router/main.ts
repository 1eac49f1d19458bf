/**
 * `deno task router --master URL [--host 127.0.0.1] [--http-port 8081] [--poll-ms 1000]
 *   [--log-level debug|info|warn|error]`
 */
import { parseArgs } from "node:util";
import { createLogger, type Logger, resolveLogLevel } from "../protocol/log.ts";
import { startRouter } from "./mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    master: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    "http-port": { type: "string", default: "8081" },
    "poll-ms": { type: "string", default: "1000" },
    "log-level": { type: "string" },
  },
});
const httpPort = Number(values["http-port"]);
const pollMs = Number(values["poll-ms"]);
const USAGE = "usage: deno task router --master URL [--host H] [--http-port P] [--poll-ms MS] " +
  "[--log-level debug|info|warn|error]";
if (!values.master || !Number.isInteger(httpPort) || !Number.isFinite(pollMs)) {
  console.error(USAGE);
  Deno.exit(2);
}
let log: Logger;
try {
  log = createLogger({
    level: resolveLogLevel(values["log-level"], Deno.env.get("TENDER_LOG_LEVEL")),
    component: "router",
  });
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  Deno.exit(2);
}
const router = await startRouter({
  master: values.master,
  hostname: values.host,
  httpPort,
  pollMs,
});
console.log(
  `router: following ${values.master}; vhosts on http://${router.hostname}:${router.httpPort}, ` +
    `state at /_router/state`,
);
log.info("router started", { master: values.master, servicePorts: router.servicePorts() });
const shutdown = async () => {
  log.info("stopping");
  await router.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
