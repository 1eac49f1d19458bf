/**
 * `deno task marathon --master URL[,URL...] [--port 8080] [--host 127.0.0.1] [--work-dir DIR]
 *   [--store etcd://HOST:PORT[,…][/prefix] | PATH] [--advertise-url URL]
 *   [--mesos-user NAME] [--secrets-key-file FILE] [--log-level debug|info|warn|error]
 *   [security flags: see MARATHON_SECURITY_USAGE]`
 */
import {
  fileLimitWarning,
  isUserName,
  loggerFlag,
  mastersFlag,
  openFilesLimit,
  parseFlags,
  portFlag,
  usageError,
} from "../../base/mod.ts";
import { etcdMasterLeader, parseStoreSpec, type StoreSpec } from "../../store/mod.ts";
import { startHaMarathon } from "./ha_marathon.ts";
import { startMarathon } from "./start_marathon.ts";
import { loadSecretsKey } from "./secrets/secret_store.ts";
import { SCHEDULING_FLAGS, SCHEDULING_USAGE, schedulingOptions } from "./scheduling_flags.ts";
import {
  MARATHON_SECURITY_FLAGS,
  MARATHON_SECURITY_USAGE,
  marathonSecurity,
} from "./security_flags.ts";

const USAGE =
  "Usage: deno task marathon --master http://HOST:5050[,http://HOST2:5050...] [--port 8080] " +
  "[--host 127.0.0.1] " +
  "[--work-dir ./.tender/marathon] " +
  "[--store etcd://HOST:PORT[,HOST:PORT...][/prefix] | PATH (default WORK_DIR/marathon.kv)] " +
  "[--advertise-url URL (http://HOST:PORT): where the other Marathons proxy to when this one leads] " +
  SCHEDULING_USAGE +
  "[--mesos-user NAME (the user tasks run as unless the app names one; default: this process's)] " +
  "[--secrets-key-file FILE (32 bytes, hex or base64: the secret store's key; without it no secrets)] " +
  "[--log-level debug|info|warn|error (warn; or TENDER_LOG_LEVEL)]\n" +
  MARATHON_SECURITY_USAGE;

const args = parseFlags(USAGE, {
  master: { type: "string" },
  port: { type: "string", default: "8080" },
  host: { type: "string", default: "127.0.0.1" },
  "work-dir": { type: "string", default: "./.tender/marathon" },
  store: { type: "string" },
  "advertise-url": { type: "string" },
  "mesos-user": { type: "string" },
  "secrets-key-file": { type: "string" },
  ...SCHEDULING_FLAGS,
  "log-level": { type: "string" },
  ...MARATHON_SECURITY_FLAGS,
  help: { type: "boolean" },
});
const secure = await marathonSecurity(args, (name) => Deno.env.get(name)).catch((e) =>
  usageError((e as Error).message, USAGE)
);
const log = loggerFlag("marathon", args["log-level"], USAGE);
const lowFiles = fileLimitWarning(openFilesLimit());
if (lowFiles) log.warn(lowFiles);
if (args["http-credentials"] !== undefined) {
  log.warn(
    "--http-credentials shows its password to anyone who can list processes (ps); " +
      "--credentials FILE keeps it out of argv",
  );
}
const masters = mastersFlag(args.master, {
  usage: USAGE,
  deps: { etcd: etcdMasterLeader(), fetch: secure.client.fetch },
});
const port = portFlag("port", args.port, { usage: USAGE });
let store: StoreSpec | undefined;
try {
  store = args.store === undefined ? undefined : parseStoreSpec(args.store);
} catch (e) {
  usageError((e as Error).message, USAGE);
}
const mesosUser = args["mesos-user"];
if (mesosUser !== undefined && !isUserName(mesosUser)) {
  usageError(`invalid --mesos-user "${mesosUser}": give a user name`, USAGE);
}
if (args["advertise-url"] !== undefined && store?.kind !== "etcd") {
  usageError("--advertise-url needs --store etcd://…", USAGE);
}

const secretsKeyFile = args["secrets-key-file"];
const secretsKey = secretsKeyFile === undefined
  ? undefined
  : await loadSecretsKey(secretsKeyFile).catch((e) => usageError((e as Error).message, USAGE));

// The driver follows the leader among the listed masters.
const options = {
  master: masters,
  port,
  host: args.host!,
  ...(mesosUser !== undefined ? { user: mesosUser } : {}),
  ...(secretsKey ? { secretsKey } : {}),
  ...schedulingOptions(args, USAGE),
  log,
  security: secure.security,
  realm: secure.realm,
  tls: secure.tls,
  client: secure.client,
};
const marathon = store?.kind === "etcd"
  ? await startHaMarathon({
    ...options,
    etcd: store,
    advertiseUrl: args["advertise-url"],
  }).catch((e) => {
    console.error(`marathon: ${(e as Error).message}`);
    Deno.exit(1);
  })
  : await startMarathon({ ...options, workDir: args["work-dir"]!, kvPath: store?.path });
const role = "leading" in marathon ? " (standing by until elected)" : "";
console.log(`marathon: API on ${marathon.url}, master ${masters.text}${role}`);
log.info("marathon started", {
  store: args.store ?? `${args["work-dir"]}/marathon.kv`,
  frameworkName: "marathon",
});
const stop = async () => {
  log.info("stopping");
  await marathon.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
