/**
 * `deno task marathon --master URL [--port 8080] [--host 127.0.0.1] [--work-dir DIR]
 *   [--log-level debug|info|warn|error]`
 */
import { parseArgs } from "node:util";
import { createLogger, type Logger, resolveLogLevel } from "../../protocol/log.ts";
import { startMarathon } from "./start_marathon.ts";

const USAGE =
  "Usage: deno task marathon --master http://HOST:5050 [--port 8080] [--host 127.0.0.1] " +
  "[--work-dir ./.tender/marathon] [--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]";

let args;
try {
  args = parseArgs({
    args: Deno.args,
    options: {
      master: { type: "string" },
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "work-dir": { type: "string", default: "./.tender/marathon" },
      "log-level": { type: "string" },
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
if (!args.master) {
  console.error(`--master is required\n${USAGE}`);
  Deno.exit(2);
}
let log: Logger;
try {
  log = createLogger({
    level: resolveLogLevel(args["log-level"], Deno.env.get("TENDER_LOG_LEVEL")),
    component: "marathon",
  });
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  Deno.exit(2);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got "${args.port}"`);
  Deno.exit(2);
}

const marathon = await startMarathon({
  master: args.master,
  port,
  host: args.host!,
  workDir: args["work-dir"]!,
});
console.log(`marathon: API on ${marathon.url}, master ${args.master}`);
log.info("marathon started", { workDir: args["work-dir"], frameworkName: "marathon" });
const stop = async () => {
  log.info("stopping");
  await marathon.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
