/**
 * A Tender cluster across namespace hosts (tests/support/hosts.ts), as real processes: etcd
 * members, masters, agents, Marathons and routers, each started on a chosen host with the flags
 * an operator would give (a process listens on its host's address; agents get only the master
 * list). Any node can be killed, paused (SIGSTOP) and resumed (SIGCONT) or restarted on its work
 * dir, and any host's link cut and restored. `close()` ends everything: processes, tasks (also
 * Docker containers of agents on the root host), hosts, dirs.
 *
 * Inside a namespace each process has the host's ports to itself, so the well-known ports are
 * used there (master 5050, agent 5051, Marathon 8080, router 8081, DNS 8053, registry 5000; the
 * next free one when a host runs two of a kind); on the root host, free ports.
 *
 * ```ts
 * const cluster = await HostCluster.start({ hosts: 3 });
 * try {
 *   const master = await cluster.master("h1");
 *   const agent = await cluster.agent("h2");
 *   await cluster.cut("h2");
 * } finally {
 *   await cluster.close();
 * }
 * ```
 */
import { keys } from "../../agent/keys.ts";
import { freePort, killProcessTasks, TenderProcess, waitFor } from "./cluster.ts";
import { EtcdCluster } from "./etcd_cluster.ts";
import { type Host, Hosts } from "./hosts.ts";
import { MarathonProcess } from "./marathon_process.ts";

/** What a node is. */
export type NodeKind = "master" | "agent" | "marathon" | "router";

/** One Tender process placed on a host. */
export interface Node {
  readonly kind: NodeKind;
  /** `master-1`, `agent-2`, … (an agent registers with its name as hostname). */
  readonly name: string;
  readonly host: Host;
  /** Its base URL on its host's address. */
  readonly url: string;
  readonly process: TenderProcess;
  /** Its work dir. */
  readonly workDir: string;
}

/** Options of `master()`. */
export interface MasterOptions {
  /** On etcd (`--store`): `etcd()` must have been started. Default: its own Deno KV. */
  etcd?: boolean;
  /** Serve DNS (on its host's 8053) and the registry (5000). Default off. */
  dns?: boolean;
  registry?: boolean;
  /** More flags (e.g. `--agent-timeout 3`). */
  args?: string[];
}

/** Options of `agent()`. */
export interface AgentOptions {
  /** `--containerizer` (default process; `docker` only on the root host). */
  containerizer?: "process" | "docker";
  /** More flags (e.g. `--advertise-ip`, `--attributes`). */
  args?: string[];
  /** Don't wait for the leading master to list it (e.g. it starts cut off). */
  noWait?: boolean;
}

/** `/health` of a master. */
interface Health {
  role: "leader" | "standby";
  leader: string | null;
}

/** Ports each kind listens on inside a namespace. */
const PORTS: Record<NodeKind | "dns" | "registry", number> = {
  master: 5050,
  agent: 5051,
  marathon: 8080,
  router: 8081,
  dns: 8053,
  registry: 5000,
};

/** Hosts plus the Tender processes on them. */
export class HostCluster {
  readonly nodes: Node[] = [];
  readonly marathons = new Map<Node, MarathonProcess>();
  /** The etcd cluster, once `etcd()` started it. */
  etcd: EtcdCluster | undefined;
  readonly #ports = new Map<string, Set<number>>();
  readonly #counts = new Map<NodeKind, number>();
  #closed = false;

  private constructor(readonly hosts: Hosts, readonly root: string) {}

  /** Creates `hosts` namespace hosts (default 3; see `Hosts.create`) and a work dir. */
  static async start(options: { hosts?: number; names?: string[] } = {}): Promise<HostCluster> {
    const hosts = await Hosts.create({ count: options.hosts ?? 3, names: options.names });
    const root = await Deno.makeTempDir({ prefix: `tender-hosts-${hosts.id}-` });
    const cluster = new HostCluster(hosts, root);
    // Ctrl-C closes the hosts (and every process on them): the dirs go too.
    hosts.onClose(async () => {
      await cluster.etcd?.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    });
    return cluster;
  }

  /** A host by name (`h0` is the root namespace) or itself. */
  host(host: string | Host): Host {
    return typeof host === "string" ? this.hosts.host(host) : host;
  }

  /** Every master, in start order. */
  get masters(): Node[] {
    return this.nodes.filter((n) => n.kind === "master");
  }

  /** Every agent, in start order. */
  get agents(): Node[] {
    return this.nodes.filter((n) => n.kind === "agent");
  }

  /** The comma-separated master list that clients are given. */
  get masterList(): string {
    if (this.masters.length === 0) throw new Error("No master started yet");
    return this.masters.map((m) => m.url).join(",");
  }

  /** Starts one etcd member on each of `on` (e.g. `["h1", "h2", "h3"]`) and waits for health. */
  async startEtcd(on: readonly (string | Host)[]): Promise<EtcdCluster> {
    if (this.etcd) throw new Error("etcd runs already");
    this.etcd = await EtcdCluster.start({
      placement: on.map((h) => ({ ip: this.host(h).ip, wrap: this.host(h).wrap })),
    });
    return this.etcd;
  }

  /**
   * Starts a master on `on` and waits until it answers `/health` (as leader or standby) and, if
   * it serves one, its registry answers.
   */
  async master(on: string | Host, options: MasterOptions = {}): Promise<Node> {
    const host = this.host(on);
    if (options.etcd && !this.etcd) throw new Error("Start etcd before a master on it");
    const dns = options.dns ? String(this.#port(host, "dns")) : "off";
    const registry = options.registry ? String(this.#port(host, "registry")) : "off";
    const node = this.#node("master", host, (name, port, workDir) => [
      ...["--host", host.ip, "--port", String(port), "--work-dir", workDir, "--hostname", name],
      ...["--dns-port", dns, "--registry-port", registry, "--log-level", "info"],
      ...(options.etcd ? ["--store", this.etcd!.url("tender")] : []),
      ...(options.args ?? []),
    ]);
    node.process.start();
    await this.waitAnswering(node);
    if (options.registry) {
      // The registry starts after the master's API.
      await waitFor(`${node.name}'s registry to answer`, async () => {
        const r = await fetch(`http://${host.ip}:${registry}/v2/`, {
          signal: AbortSignal.timeout(2000),
        });
        await r.body?.cancel();
        return r.ok;
      });
    }
    return node;
  }

  /**
   * Starts an agent on `on` with `--master` (the list of every master started so far), a work
   * dir, its name as `--hostname` and the process containerizer, and nothing else: where it
   * listens and what it advertises are its defaults. Waits until the leader lists it active.
   */
  async agent(on: string | Host, options: AgentOptions = {}): Promise<Node> {
    const host = this.host(on);
    const containerizer = options.containerizer ?? "process";
    if (containerizer === "docker" && host.netns) {
      throw new Error("Docker agents run on the root host (h0) only");
    }
    const node = this.#node("agent", host, (name, port, workDir) => [
      ...["--master", this.masterList, "--port", String(port), "--work-dir", workDir],
      ...["--hostname", name, "--containerizer", containerizer, "--log-level", "info"],
      ...(options.args ?? []),
    ]);
    node.process.start();
    if (!options.noWait) await this.waitForAgent(node);
    return node;
  }

  /** Starts a Marathon on `on` (on etcd with `etcd: true`) and waits until it answers `/ping`. */
  async marathon(
    on: string | Host,
    options: { etcd?: boolean; args?: string[] } = {},
  ): Promise<Node> {
    const host = this.host(on);
    if (options.etcd && !this.etcd) throw new Error("Start etcd before a Marathon on it");
    const name = this.#name("marathon");
    const port = this.#port(host, "marathon");
    const workDir = `${this.root}/${name}`;
    const marathon = new MarathonProcess(name, [
      ...["--master", this.masterList, "--host", host.ip, "--work-dir", workDir],
      ...["--log-level", "info"],
      ...(options.etcd ? ["--store", this.etcd!.url("marathon")] : []),
      ...(options.args ?? []),
    ], { port, wrap: host.wrap });
    const node: Node = {
      kind: "marathon",
      name,
      host,
      url: `http://${host.ip}:${port}`,
      process: marathon.process,
      workDir,
    };
    this.nodes.push(node);
    this.marathons.set(node, marathon);
    await marathon.start();
    return node;
  }

  /** Starts a router on `on` and waits until its `/_router/state` answers. */
  async router(on: string | Host, options: { args?: string[] } = {}): Promise<Node> {
    const host = this.host(on);
    const node = this.#node("router", host, (_name, port) => [
      ...["--master", this.masterList, "--host", host.ip, "--http-port", String(port)],
      ...["--poll-ms", "250", "--log-level", "info", ...(options.args ?? [])],
    ]);
    node.process.start();
    await this.waitAnswering(node);
    return node;
  }

  /** Sends a signal (default SIGKILL) and, unless it is SIGSTOP/SIGCONT, waits for the exit. */
  async signal(node: Node, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      node.process.signal(signal);
      return;
    }
    node.process.signal("SIGCONT");
    await node.process.kill(signal);
  }

  /** SIGSTOP: the process keeps its sockets and answers nothing. */
  pause(node: Node): void {
    node.process.signal("SIGSTOP");
  }

  /** SIGCONT. */
  resume(node: Node): void {
    node.process.signal("SIGCONT");
  }

  /** Kills the node (if it runs) and starts it again on its work dir, with the same flags. */
  async restart(node: Node): Promise<void> {
    await this.signal(node, "SIGKILL");
    const marathon = this.marathons.get(node);
    if (marathon) {
      await marathon.start();
      return;
    }
    node.process.start();
    if (node.kind === "agent") await this.waitForAgent(node);
    else await this.waitAnswering(node);
  }

  /** Cuts a host's link (see `Hosts.cut`). */
  async cut(host: string | Host): Promise<void> {
    await this.hosts.cut(this.host(host));
  }

  /** Restores a host's link. */
  async restore(host: string | Host): Promise<void> {
    await this.hosts.restore(this.host(host));
  }

  /** A master's `/health`, or undefined when it does not answer within 2 s. */
  async health(master: Node): Promise<Health | undefined> {
    try {
      const r = await fetch(`${master.url}/health`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? await r.json() : (await r.body?.cancel(), undefined);
    } catch {
      return undefined;
    }
  }

  /** The one master that says it leads, if exactly one does. */
  async leader(): Promise<Node | undefined> {
    const masters = this.masters;
    const healths = await Promise.all(masters.map((m) => this.health(m)));
    const leading = masters.filter((_, i) => healths[i]?.role === "leader");
    return leading.length === 1 ? leading[0] : undefined;
  }

  /** Waits until exactly one master leads (and it is not `not`). */
  async waitForLeader(options: { not?: Node; timeoutMs?: number } = {}): Promise<Node> {
    return await waitFor("one leading master", async () => {
      const leader = await this.leader();
      return leader !== options.not ? leader : undefined;
    }, options.timeoutMs ?? 30_000);
  }

  /** The leading master's `/master/state` (undefined while none leads). */
  // deno-lint-ignore no-explicit-any -- the Mesos-shaped state is read loosely by tests
  async state(): Promise<any> {
    const leader = await this.leader();
    if (!leader) return undefined;
    const r = await fetch(`${leader.url}/master/state`, { signal: AbortSignal.timeout(10_000) });
    return await r.json();
  }

  /** The leader's view of an agent node (`slaves[]` entry), if it lists one by that name. */
  // deno-lint-ignore no-explicit-any -- read loosely, as `state()`
  async agentState(agent: Node): Promise<any> {
    const state = await this.state();
    // deno-lint-ignore no-explicit-any -- as above
    return state?.slaves.find((s: any) => s.hostname === agent.name);
  }

  /** Waits until the leading master lists the agent as active. */
  async waitForAgent(agent: Node, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${agent.name} to register`, async () => {
      return (await this.agentState(agent))?.active === true;
    }, timeoutMs).catch((e) => {
      throw new Error(`${e.message}\n${agent.name}'s log:\n${agent.process.log.join("")}`);
    });
  }

  /** Waits until a master, Marathon or router answers on its URL. */
  async waitAnswering(node: Node, timeoutMs = 30_000): Promise<void> {
    const path = node.kind === "router"
      ? "/_router/state"
      : node.kind === "master"
      ? "/health"
      : "/ping";
    await waitFor(`${node.name} to answer ${path}`, async () => {
      const r = await fetch(`${node.url}${path}`, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      return r.ok;
    }, timeoutMs).catch((e) => {
      throw new Error(`${e.message}\n${node.name}'s log:\n${node.process.log.join("")}`);
    });
  }

  /** Ends every process (paused ones too), every task and container, the hosts and the dirs. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.nodes.map((n) => this.signal(n, "SIGKILL").catch(() => {})));
    await this.etcd?.close();
    // Tasks on the root host: process groups and Docker containers (by the agent's owner label).
    await killProcessTasks(this.root);
    for (const agent of this.agents.filter((a) => !a.host.netns)) {
      await removeDockerContainers(agent.workDir).catch(() => {});
    }
    await this.hosts.close();
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  #name(kind: NodeKind): string {
    const n = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, n);
    return `${kind}-${n}`;
  }

  #node(
    kind: NodeKind,
    host: Host,
    args: (name: string, port: number, workDir: string) => string[],
  ): Node {
    const name = this.#name(kind);
    const port = this.#port(host, kind);
    const workDir = `${this.root}/${name}`;
    const script = {
      master: "master/main.ts",
      agent: "agent/main.ts",
      marathon: "frameworks/marathon/main.ts",
      router: "router/main.ts",
    }[kind];
    const node: Node = {
      kind,
      name,
      host,
      url: `http://${host.ip}:${port}`,
      process: new TenderProcess(name, script, args(name, port, workDir), { wrap: host.wrap }),
      workDir,
    };
    this.nodes.push(node);
    return node;
  }

  /** The well-known port of `kind` on a namespace host (the next one if taken); free on root. */
  #port(host: Host, kind: keyof typeof PORTS): number {
    if (!host.netns) return freePort();
    let taken = this.#ports.get(host.name);
    if (!taken) this.#ports.set(host.name, taken = new Set());
    let port = PORTS[kind];
    while (taken.has(port)) port++;
    taken.add(port);
    return port;
  }
}

/** Removes the Docker containers an agent's work dir owns (the owner id in its store). */
async function removeDockerContainers(workDir: string): Promise<void> {
  const kv = await Deno.openKv(`${workDir}/agent.kv`);
  let owner: unknown;
  try {
    owner = (await kv.get(keys.owner())).value;
  } finally {
    kv.close();
  }
  if (typeof owner !== "string") return;
  const { removeOwned } = await import("../docker_helpers.ts");
  await removeOwned(owner);
}
