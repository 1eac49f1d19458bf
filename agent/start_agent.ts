/**
 * Assembles a real agent: its KV store under the work dir, detected resources, the chosen
 * containerizer, the HTTP API on `host:port`, and the connection to the master.
 */
import { resolve } from "node:path";
import {
  type Attribute,
  CONTAINERIZERS_ATTRIBUTE,
  containerizersAttribute,
} from "../protocol/mod.ts";
import {
  type Clock,
  HttpMetrics,
  type Ids,
  Masters,
  openPrivateKv,
  privateDir,
  randomIds,
  systemClock,
} from "../base/mod.ts";
import { advertiseIp, bindAddress } from "./advertise_ip.ts";
import { Agent } from "./agent.ts";
import type { Containerizer } from "./containerizer/containerizer.ts";
import { CompositeContainerizer } from "./containerizer/composite.ts";
import { CONTAINERD_SOCKET } from "./containerizer/containerd.ts";
import { startContainerd } from "./containerizer/containerd_start.ts";
import { DockerContainerizer, probeDocker } from "./containerizer/docker.ts";
import { ProcessContainerizer } from "./containerizer/process.ts";
import { SimulatedContainerizer } from "./containerizer/simulated.ts";
import { Fetcher } from "./fetcher.ts";
import { agentApp } from "./http.ts";
import {
  ClientSecurity,
  schemeOf,
  serveHttp,
  ServerSecurity,
  type TlsFiles,
} from "../security/mod.ts";
import { AgentInstruments, renderAgentMetrics } from "./metrics.ts";
import { keys } from "./keys.ts";
import { agentResources, parseAttributes } from "./resources_detect.ts";

/** The containerizers an agent can be started with. */
export type ContainerizerKind = "docker" | "containerd" | "process" | "simulated";

/** Options of `startAgent` (the flags of `deno task agent`). */
export interface StartAgentOptions {
  /**
   * The masters: a base URL (`http://127.0.0.1:5050`), a comma-separated list of them, or a
   * `Masters`; the agent subscribes at the leader and follows it across failovers.
   */
  master: string | Masters;
  /** The agent API port (default 5051; 0 picks a free one). */
  port?: number;
  /**
   * The address the agent API binds to (default: the advertised one when it is this machine's,
   * else 0.0.0.0).
   */
  host?: string;
  /** The name the agent registers with (default `Deno.hostname()`). */
  hostname?: string;
  /**
   * The address the agent and its tasks are reached at (default: the local address of the
   * route to the master; 127.0.0.1 when the master is on loopback).
   */
  advertiseIp?: string;
  /**
   * The address task ports are published on (Docker's `HostIp`), by default the advertised one
   * when it is this machine's, else 0.0.0.0; 0.0.0.0 asks for every interface.
   */
  publishIp?: string;
  /** State and sandboxes (default `./.tender/agent-<port>`). */
  workDir?: string;
  /** `cpus:2;mem:1024;ports:[31000-31100]`: overrides detected resources per name. */
  resources?: string;
  /** `rack:r1;zone:a`. */
  attributes?: string;
  /** Default: docker where a Docker socket answers, process otherwise. */
  containerizer?: ContainerizerKind;
  dockerSocket?: string;
  /** containerd's socket for `containerd` (default /run/containerd/containerd.sock). */
  containerdSocket?: string;
  /** Cap Docker tasks' CPU with a CFS quota besides their shares (Mesos' flag; default off). */
  cgroupsEnableCfs?: boolean;
  /** Default grace between SIGTERM and SIGKILL (5000 ms). */
  killGraceMs?: number;
  /**
   * Run each task as its user, CommandInfo.user else FrameworkInfo.user (Mesos'
   * `--switch_user`, default true); false runs every task as the agent's user.
   */
  switchUser?: boolean;
  /** First status update retry (10000 ms, as Mesos), doubling to 10 min. */
  statusUpdateRetryMs?: number;
  /** How long a finished task's sandbox stays (Mesos' `--gc_delay`, default one week). */
  gcDelayMs?: number;
  /** The fetcher's cache size (Mesos' `--fetcher_cache_size`, default 2 GiB). */
  fetcherCacheBytes?: number;
  /** The most one URI may bring, and an archive expand to (default 4 GiB). */
  fetcherMaxBytes?: number;
  /** How long a task's fetching may take (default 10 minutes). */
  fetcherTimeoutMs?: number;
  reconnectMaxMs?: number;
  /** Credentials and CA for calls to the master (when `master` is a string; a `Masters` has its own). */
  client?: ClientSecurity;
  /** Credentials and ACLs of the agent's own API (default: off). */
  security?: ServerSecurity;
  /** Every route of the agent's API but `/health` needs credentials (needs `security`'s). */
  authenticateHttpReadonly?: boolean;
  /** Serve the agent's API over HTTPS with this certificate chain and key. */
  tls?: TlsFiles;
  clock?: Clock;
  ids?: Ids;
  log?: (message: string) => void;
}

/** A started agent. */
export interface RunningAgent {
  agent: Agent;
  /** The agent API's base URL. */
  url: string;
  port: number;
  workDir: string;
  containerizer: Containerizer;
  /** Stops the agent and its API and closes its store; tasks keep running. */
  stop(): Promise<void>;
}

/** Picks the containerizer: the asked one, else docker when its socket answers, else process. */
export async function chooseContainerizer(
  asked: ContainerizerKind | undefined,
  dockerSocket: string,
): Promise<ContainerizerKind> {
  if (asked) return asked;
  return (await probeDocker(dockerSocket)) ? "docker" : "process";
}

/** Starts an agent in this process. */
export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const log = options.log ?? ((m: string) => console.log(`[agent] ${m}`));
  const dockerSocket = options.dockerSocket ?? "/var/run/docker.sock";
  const containerdSocket = options.containerdSocket ?? CONTAINERD_SOCKET;
  if (options.authenticateHttpReadonly && !options.security?.authenticating) {
    throw new Error("--authenticate-http-readonly needs --credentials FILE");
  }
  const masters = Masters.from(options.master, { fetch: options.client?.fetch });
  const security = options.security ?? ServerSecurity.off();
  const advertised = options.advertiseIp ??
    await advertiseIp(
      masters.spec.kind === "etcd" ? masters.spec.endpoints : masters.candidates,
    );
  // The advertised address when it is one of ours; every interface for one behind NAT.
  const bind = bindAddress(advertised, Deno.networkInterfaces());
  const host = options.host ?? bind;

  let agent: Agent | undefined;
  let fetcher: Fetcher | undefined;
  const http = new HttpMetrics();
  const instruments = new AgentInstruments(clock);
  const app = agentApp(
    {
      state: () => {
        if (!agent) throw new Error("the agent is starting");
        return agent.state();
      },
      logs: async (taskId, o) => await agent?.logs(taskId, o),
      statistics: async () => await agent?.statistics() ?? [],
      metrics: () =>
        renderAgentMetrics({
          tasks: agent?.tasks() ?? [],
          pendingUpdates: agent?.pendingUpdates() ?? 0,
          connected: agent?.connected ?? false,
          instruments,
          http,
          security: security.metrics,
          fetcher: fetcher?.counters(),
        }),
    },
    http,
    { security, readonly: options.authenticateHttpReadonly },
  );
  const server = await serveHttp(
    { hostname: host, port: options.port ?? 5051, tls: options.tls },
    app.fetch,
  );
  const scheme = schemeOf(options.tls);
  const port = server.addr.port;
  // Absolute, so that sandboxes mean the same to tasks (whose cwd is their sandbox) and engines.
  const workDir = resolve(options.workDir ?? `./.tender/agent-${port}`);
  let kv: Deno.Kv | undefined;
  let containerizer: Containerizer | undefined;
  let closeContainerizer = () => {};
  try {
    // Tasks running as other users pass through it to their sandboxes, never list it.
    await privateDir(workDir, 0o711);
    kv = await openPrivateKv(`${workDir}/agent.kv`);
    const kind = await chooseContainerizer(options.containerizer, dockerSocket);
    ({ containerizer, close: closeContainerizer } = await makeContainerizer(kind, {
      kv,
      workDir,
      dockerSocket,
      containerdSocket,
      clock,
      ids,
      cpuQuota: options.cgroupsEnableCfs ?? false,
      log,
    }));
    const engineSocket = kind === "docker"
      ? dockerSocket
      : kind === "containerd"
      ? containerdSocket
      : undefined;
    log(
      `Using the ${kind} containerizer` +
        (engineSocket ? ` (${engineSocket}; tasks without an image run as processes)` : ""),
    );
    const resources = await agentResources(workDir, options.resources);
    // URIs are fetched with the CA the agent trusts, never with its credentials.
    fetcher = new Fetcher({
      cacheDir: `${workDir}/fetcher_cache`,
      clock,
      httpClient: options.client?.httpClient,
      cacheBytes: options.fetcherCacheBytes,
      maxBytes: options.fetcherMaxBytes,
      timeoutMs: options.fetcherTimeoutMs,
    });
    agent = new Agent({ kv, clock, ids, containerizer, log, observer: instruments, fetcher }, {
      master: masters,
      hostname: options.hostname ?? Deno.hostname(),
      port,
      advertiseIp: advertised,
      scheme,
      publishIp: options.publishIp ?? bind,
      workDir,
      resources,
      attributes: withContainerizers(parseAttributes(options.attributes ?? ""), containerizer),
      killGraceMs: options.killGraceMs,
      switchUser: options.switchUser,
      statusUpdateRetryMs: options.statusUpdateRetryMs,
      gcDelayMs: options.gcDelayMs,
      reconnectMaxMs: options.reconnectMaxMs,
    });
    await agent.start();
    log(
      `Agent API on ${scheme}://${host}:${port}, advertising ${advertised}, resources ${resources}, ` +
        `master ${masters.text}`,
    );
  } catch (e) {
    await server.shutdown();
    closeContainerizer();
    kv?.close();
    throw e;
  }
  const started = agent, store = kv, engine = containerizer, closeEngine = closeContainerizer;
  return {
    agent: started,
    url: `${scheme}://${host}:${port}`,
    port,
    workDir,
    containerizer: engine,
    stop: async () => {
      await started.stop();
      await server.shutdown();
      closeEngine();
      store.close();
    },
  };
}

/** The operator's attributes plus `containerizers` (theirs wins), as offers show them. */
function withContainerizers(attributes: Attribute[], containerizer: Containerizer): Attribute[] {
  if (attributes.some((a) => a.name === CONTAINERIZERS_ATTRIBUTE)) return attributes;
  return [...attributes, containerizersAttribute(containerizer.kind.split("+"))];
}

/**
 * Builds the containerizer. `docker` is Mesos' `--containerizers=docker,mesos`: tasks with a
 * DOCKER container run in Docker, plain commands as processes; `containerd` likewise runs
 * tasks that name an image in containerd (CRI), and fails the start when none answers.
 */
async function makeContainerizer(
  kind: ContainerizerKind,
  deps: {
    kv: Deno.Kv;
    workDir: string;
    dockerSocket: string;
    containerdSocket: string;
    clock: Clock;
    ids: Ids;
    cpuQuota: boolean;
    log: (message: string) => void;
  },
): Promise<{ containerizer: Containerizer; close: () => void }> {
  if (kind === "simulated") {
    return { containerizer: new SimulatedContainerizer(deps.clock), close: () => {} };
  }
  const processes = new ProcessContainerizer({ workDir: deps.workDir });
  if (kind === "process") return { containerizer: processes, close: () => processes.close() };
  const saved = await deps.kv.get<string>(keys.owner());
  let owner = typeof saved.value === "string" ? saved.value : undefined;
  if (!owner) {
    owner = deps.ids.uuid();
    await deps.kv.set(keys.owner(), owner);
  }
  if (kind === "containerd") {
    return await startContainerd({
      socketPath: deps.containerdSocket,
      owner,
      clock: deps.clock,
      cpuQuota: deps.cpuQuota,
      processes,
      log: deps.log,
    });
  }
  const docker = new DockerContainerizer({
    socketPath: deps.dockerSocket,
    owner,
    clock: deps.clock,
    cpuQuota: deps.cpuQuota,
  });
  return {
    containerizer: new CompositeContainerizer({ docker, process: processes }),
    close: () => {
      docker.close();
      processes.close();
    },
  };
}
