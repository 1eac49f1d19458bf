/**
 * `deno task dev`: a whole local cluster in one process — master (with DNS, metrics and the
 * dashboard), one agent, the image registry, the Marathon and jobs frameworks, the router and
 * the autoscaler — with state under `./.tender/`. Ctrl-C stops everything, the agent's tasks
 * included.
 *
 * `--tls`: a dev CA and a certificate for 127.0.0.1 and localhost in `WORK_DIR/certs` (made
 * once with openssl, reused after), every server on HTTPS (the router's virtual hosts too: it
 * terminates TLS for app traffic, backends stay plain HTTP; service ports pass TCP through) and
 * every client trusting that CA.
 * `--secure`: a new credentials file in `WORK_DIR/secure` with a random secret per component
 * and one for the user (`admin`, printed once); the master requires credentials of
 * frameworks, agents and every HTTP call; the agent, registry, Marathon, jobs API and the
 * router's admin endpoints likewise (the router's app traffic and the autoscaler's own API
 * stay open: they serve apps and carry no cluster secrets).
 */
import { startAgent } from "./agent/mod.ts";
import { startAutoscaler } from "./autoscaler/mod.ts";
import { startJobs } from "./frameworks/jobs/mod.ts";
import { startMarathon } from "./frameworks/marathon/mod.ts";
import { startMaster } from "./master/mod.ts";
import { serveRegistry } from "./registry/mod.ts";
import { parseFlags, portFlag, usageError } from "./base/mod.ts";
import { startRouter } from "./router/mod.ts";
import {
  ClientSecurity,
  loadTls,
  makeDevCerts,
  makeDevCredentials,
  ServerSecurity,
} from "./security/mod.ts";

const USAGE = `Usage: deno task dev [--work-dir ./.tender] [--master-port 5050] [--agent-port 5051]
  [--registry-port 5000] [--marathon-port 8080] [--jobs-port 9000] [--router-port 8081]
  [--dns-port 8053] [--autoscaler-port 9090]
  [--containerizer docker|containerd|process] [--containerd-socket PATH]
  [--resources 'cpus:2;mem:2048'] [--tls] [--secure]
  --tls      HTTPS everywhere with a dev CA made in WORK_DIR/certs (openssl)
  --secure   credentials for every component and for you (printed once)`;

const args = parseFlags(USAGE, {
  "work-dir": { type: "string", default: "./.tender" },
  "master-port": { type: "string", default: "5050" },
  "agent-port": { type: "string", default: "5051" },
  "registry-port": { type: "string", default: "5000" },
  "marathon-port": { type: "string", default: "8080" },
  "jobs-port": { type: "string", default: "9000" },
  "router-port": { type: "string", default: "8081" },
  "dns-port": { type: "string", default: "8053" },
  "autoscaler-port": { type: "string", default: "9090" },
  containerizer: { type: "string" },
  "containerd-socket": { type: "string" },
  resources: { type: "string" },
  tls: { type: "boolean" },
  secure: { type: "boolean" },
  help: { type: "boolean" },
});
const containerizer = args.containerizer;
if (
  containerizer !== undefined && containerizer !== "docker" && containerizer !== "containerd" &&
  containerizer !== "process"
) {
  usageError(
    `--containerizer must be docker, containerd or process, got "${containerizer}"`,
    USAGE,
  );
}
const port = (name: string, value: string) => portFlag(name, value, { usage: USAGE })!;
const ports = {
  master: port("master-port", args["master-port"]),
  agent: port("agent-port", args["agent-port"]),
  registry: port("registry-port", args["registry-port"]),
  marathon: port("marathon-port", args["marathon-port"]),
  jobs: port("jobs-port", args["jobs-port"]),
  router: port("router-port", args["router-port"]),
  dns: port("dns-port", args["dns-port"]),
  autoscaler: port("autoscaler-port", args["autoscaler-port"]),
};
const workDir = args["work-dir"]!;

// --tls: one CA and one certificate for 127.0.0.1 and localhost serve every component.
const certDir = `${workDir}/certs`;
let tls: { cert: string; key: string } | undefined;
let caCerts: string[] | undefined;
if (args.tls) {
  try {
    const have = await Deno.stat(`${certDir}/server.key`).then(() => true, () => false);
    if (!have) await makeDevCerts({ out: certDir, hosts: ["127.0.0.1", "localhost"] });
    tls = await loadTls(`${certDir}/server.crt`, `${certDir}/server.key`);
    caCerts = [await Deno.readTextFile(`${certDir}/ca.crt`)];
  } catch (e) {
    usageError(`--tls: ${(e as Error).message}`, USAGE);
  }
}

// --secure: a principal and a random secret per component, and one for the user.
const COMPONENTS = ["master", "agent", "marathon", "jobs", "router", "autoscaler"];
const secure = args.secure
  ? await makeDevCredentials({ dir: `${workDir}/secure`, components: COMPONENTS })
  : undefined;
/** A server's own security: the cluster's credentials, its own counters and throttle. */
const serverSecurity = () =>
  secure ? new ServerSecurity({ credentials: secure.credentials }) : ServerSecurity.off();
/** What a component carries when it calls others. */
const clientOf = (principal: string) =>
  new ClientSecurity({
    principal: secure ? principal : undefined,
    secret: secure?.secrets.get(principal),
    caCerts,
  });

const master = await startMaster({
  port: ports.master,
  workDir: `${workDir}/master`,
  dnsPort: ports.dns,
  marathonUrl: `${tls ? "https" : "http"}://127.0.0.1:${ports.marathon}`,
  jobsUrl: `${tls ? "https" : "http"}://127.0.0.1:${ports.jobs}`,
  security: serverSecurity(),
  authenticate: secure
    ? { frameworks: true, agents: true, httpReadwrite: true, httpReadonly: true }
    : undefined,
  tls,
  client: clientOf("master"),
});
// The registry answers to the cluster's credentials: pushing needs them (docker login as the
// user), pulling stays open so that agents' Docker pulls without a login.
const registry = await serveRegistry({
  port: ports.registry,
  workDir: `${workDir}/registry`,
  auth: secure ? { security: serverSecurity(), anonymousPull: true } : undefined,
  tls,
});
const agent = await startAgent({
  master: master.url,
  port: ports.agent,
  workDir: `${workDir}/agent`,
  hostname: "localhost",
  containerizer,
  containerdSocket: args["containerd-socket"],
  resources: args.resources,
  client: clientOf("agent"),
  security: serverSecurity(),
  authenticateHttpReadonly: secure !== undefined,
  tls,
});
const marathon = await startMarathon({
  master: master.url,
  client: clientOf("marathon"),
  port: ports.marathon,
  workDir: `${workDir}/marathon`,
  security: serverSecurity(),
  tls,
});
const jobs = await startJobs({
  master: master.url,
  client: clientOf("jobs"),
  port: ports.jobs,
  workDir: `${workDir}/jobs`,
  security: serverSecurity(),
  tls,
});
// The router's virtual hosts carry app traffic (https with --tls, the router terminating it); its
// admin endpoints (/_router/state, /metrics) ask for the cluster's credentials.
const router = await startRouter({
  master: master.url,
  client: clientOf("router"),
  security: serverSecurity(),
  httpPort: ports.router,
  tls,
});
const routerUrl = `${tls ? "https" : "http"}://127.0.0.1:${router.httpPort}`;
const autoscaler = await startAutoscaler({
  marathon: marathon.url,
  routers: [routerUrl],
  master: master.url,
  port: ports.autoscaler,
  client: clientOf("autoscaler"),
  tls,
});

const trust = tls
  ? `
TLS: every server speaks https with the CA ${certDir}/ca.crt. For the CLI and curl:
  export TENDER_CA=${certDir}/ca.crt      (curl --cacert ${certDir}/ca.crt ...)
  export TENDER_MASTER=${master.url} TENDER_MARATHON=${marathon.url} TENDER_JOBS=${jobs.url} TENDER_REGISTRY=${registry.url}
  docker push over TLS: sudo mkdir -p /etc/docker/certs.d/127.0.0.1:${registry.port} &&
    sudo cp ${certDir}/ca.crt /etc/docker/certs.d/127.0.0.1:${registry.port}/ca.crt`
  : "";
const login = secure
  ? `
Security is on. Your credentials (shown once; the secret is also in ${secure.user.secretFile}):
  principal ${secure.user.principal}   secret ${secure.user.secret}
  CLI:        export TENDER_PRINCIPAL=${secure.user.principal} TENDER_SECRET=$(cat ${secure.user.secretFile})
  dashboard:  log in as ${secure.user.principal} with that secret when the browser asks
  registry:   docker login 127.0.0.1:${registry.port} -u ${secure.user.principal} --password-stdin < ${secure.user.secretFile}
  Every component has its own principal and random secret in ${secure.file} (hashes only).`
  : "";
console.log(`
Tender dev cluster is up (state in ${workDir}/):
  master     ${master.url}   dashboard at /, GET /master/state, /metrics
  agent      ${agent.url}   containerizer: ${agent.containerizer.kind}
  marathon   ${marathon.url}   POST /v2/apps
  jobs       ${jobs.url}   POST /v1/jobs (Metronome's API)
  autoscaler ${autoscaler.url}   apps labelled TENDER_AUTOSCALE_*; GET /events, /status
  registry   ${registry.url}   docker push 127.0.0.1:${registry.port}/NAME:TAG
  router     ${routerUrl}   HTTP vhosts; service ports 10000-20000
  dns        127.0.0.1:${master.dnsPort}   dig @127.0.0.1 -p ${master.dnsPort} web.marathon.tender
Try: deno run -A examples/hello-framework.ts --master ${master.url}${trust}${login}
Ctrl-C stops everything.`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Each part gets a bounded time, so Ctrl-C always ends with the tasks gone.
  const step = async (what: string, stop: () => Promise<unknown>) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), 10_000));
    const done = await Promise.race([stop().then(() => "done", () => "failed"), late]);
    clearTimeout(timer);
    console.log(
      `  ${what}: ${done === "done" ? "stopped" : done === "late" ? "gave up waiting" : "failed"}`,
    );
  };
  console.log("stopping:");
  await step("autoscaler", () => autoscaler.stop());
  await step("marathon", () => marathon.stop());
  await step("jobs", () => jobs.stop());
  await step("router", () => router.close());
  await step("tasks", async () => {
    const owned = await agent.containerizer.recover(new Set());
    await Promise.all(owned.map((c) => agent.containerizer.destroy(c.id, 2_000)));
  });
  await step("agent", () => agent.stop());
  await step("registry", () => registry.close());
  await step("master", () => master.stop());
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, shutdown);
