/**
 * `deno task jobs --master URL[,URL...] [--port 9000] [--host 127.0.0.1] [--work-dir DIR]
 *   [--store PATH | etcd://HOST:PORT[,…][/prefix]] [--log-level debug|info|warn|error]
 *   [--credentials FILE] [--acls FILE] [--tls-cert FILE --tls-key FILE]
 *   [--principal NAME --secret-file FILE | --token-file FILE] [--ca FILE]`
 */
import {
  fileLimitWarning,
  loggerFlag,
  mastersFlag,
  openFilesLimit,
  parseFlags,
  portFlag,
  usageError,
} from "../../base/mod.ts";
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  clientSecurityFlags,
  SERVER_SECURITY_FLAGS,
  SERVER_SECURITY_USAGE,
  serverSecurityFlags,
} from "../../security/mod.ts";
import { etcdMasterLeader, parseStoreSpec, type StoreSpec } from "../../store/mod.ts";
import { startJobs } from "./start_jobs.ts";

const USAGE =
  "Usage: deno task jobs --master http://HOST:5050[,http://HOST2:5050...] [--port 9000] " +
  "[--host 127.0.0.1] [--work-dir ./.tender/jobs] " +
  "[--store PATH (default WORK_DIR/jobs.kv) | etcd://HOST:PORT[,HOST:PORT...][/prefix]] " +
  "[--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]\n" +
  "Its API (with --credentials every route but /ping needs them; ACLs view_jobs, create_jobs,\n" +
  "update_jobs, delete_jobs per job id):\n" + SERVER_SECURITY_USAGE +
  "\nIts calls to the master:\n" + CLIENT_SECURITY_USAGE;

const args = parseFlags(USAGE, {
  master: { type: "string" },
  port: { type: "string", default: "9000" },
  host: { type: "string", default: "127.0.0.1" },
  "work-dir": { type: "string", default: "./.tender/jobs" },
  store: { type: "string" },
  "log-level": { type: "string" },
  ...SERVER_SECURITY_FLAGS,
  ...CLIENT_SECURITY_FLAGS,
  help: { type: "boolean" },
});
const { security, tls } = await serverSecurityFlags(args, USAGE);
const client = await clientSecurityFlags(args, USAGE);
const masters = mastersFlag(args.master, {
  usage: USAGE,
  deps: { etcd: etcdMasterLeader(), fetch: client.fetch },
});
const log = loggerFlag("jobs", args["log-level"], USAGE);
const lowFiles = fileLimitWarning(openFilesLimit());
if (lowFiles) log.warn(lowFiles);
const port = portFlag("port", args.port, { usage: USAGE });
let store: StoreSpec | undefined;
try {
  store = args.store === undefined ? undefined : parseStoreSpec(args.store);
} catch (e) {
  usageError((e as Error).message, USAGE);
}

const jobs = await startJobs({
  master: masters,
  port,
  host: args.host!,
  workDir: args["work-dir"]!,
  store,
  log,
  security,
  tls,
  client,
}).catch((e) => {
  console.error(`jobs: ${(e as Error).message}`);
  Deno.exit(1);
});
console.log(`jobs: API on ${jobs.url}, master ${masters.text}`);
const stop = async () => {
  log.info("stopping");
  await jobs.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
