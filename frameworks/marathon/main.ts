/**
 * `deno task marathon --master URL [--port 8080] [--host 127.0.0.1] [--work-dir DIR]
 *   [--log-level debug|info|warn|error]`
 */
import { loggerFlag, parseFlags, portFlag, usageError } from "../../protocol/flags.ts";
import { startMarathon } from "./start_marathon.ts";

const USAGE =
  "Usage: deno task marathon --master http://HOST:5050 [--port 8080] [--host 127.0.0.1] " +
  "[--work-dir ./.tender/marathon] [--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]";

const args = parseFlags(USAGE, {
  master: { type: "string" },
  port: { type: "string", default: "8080" },
  host: { type: "string", default: "127.0.0.1" },
  "work-dir": { type: "string", default: "./.tender/marathon" },
  "log-level": { type: "string" },
  help: { type: "boolean" },
});
if (!args.master) usageError("--master is required", USAGE);
const log = loggerFlag("marathon", args["log-level"], USAGE);
const port = portFlag("port", args.port, { usage: USAGE });

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
