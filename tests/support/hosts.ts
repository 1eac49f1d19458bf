/**
 * Hosts for multi-host tests, made of Linux network namespaces: each host is a namespace
 * `tender-<id>-<name>` with one veth pair onto a test bridge `tdh<id>` in the root namespace and
 * an address in a private /24 (`10.213.<n>.0/24`, a subnet no route of this machine uses). The
 * root namespace is a host too (`hosts.root`, `.254` on the bridge): the test process, and
 * Docker, live there. No host has a default route, so nothing but these addresses is reachable
 * from inside. A host's link can be cut (its veth down: packets vanish, connections hang as in a
 * real partition) and restored.
 *
 * With dockerd running, iptables' FORWARD policy is DROP: an ACCEPT rule for the bridge is
 * inserted in DOCKER-USER (or FORWARD) and removed on close. `close()` kills every process left
 * in the namespaces and removes the namespaces, links, bridge and rule; it runs on SIGINT and
 * SIGTERM too, and `Hosts.create()` first sweeps what a killed test run left (each run records
 * its pid under /tmp/tender-hosts; leftovers whose run is gone are removed).
 *
 * ```ts
 * const hosts = await Hosts.create({ count: 2 });
 * try {
 *   const h1 = hosts.host("h1");
 *   await hosts.run(h1, ["ip", "addr"]);
 *   await hosts.cut(h1);
 *   await hosts.restore(h1);
 * } finally {
 *   await hosts.close();
 * }
 * ```
 */

/** One host: a network namespace (or the root namespace, for `hosts.root`). */
export interface Host {
  /** `h1`, `h2`, … (`h0` for the root namespace). */
  readonly name: string;
  /** Its address on the test bridge. */
  readonly ip: string;
  /** The namespace's name; undefined for the root namespace. */
  readonly netns?: string;
  /** What a command is prefixed with to run on this host (`ip netns exec NS`; empty for root). */
  readonly wrap: readonly string[];
}

const NETNS_PREFIX = "tender-";
const LINK_PREFIX = "tdh";
const OWNERS = "/tmp/tender-hosts";
const RULE_COMMENT = "tender-hosts-";
const NAME = /^[a-z][a-z0-9]{0,6}$/;

/** Hosts not closed yet: removed on SIGINT/SIGTERM before the process exits. */
const open = new Set<Hosts>();
let interrupted = false;

/** A test interrupted with Ctrl-C (or killed with SIGTERM) still removes its hosts. */
function onSignal(): void {
  if (interrupted) return;
  interrupted = true;
  console.error(`Interrupted: removing test hosts ${[...open].map((h) => h.id).join(", ")}`);
  Promise.allSettled([...open].map((h) => h.close())).finally(() => Deno.exit(130));
}

function listenForSignals(listen: boolean): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    if (listen) Deno.addSignalListener(signal, onSignal);
    else Deno.removeSignalListener(signal, onSignal);
  }
}

let availability: { reason: string | undefined } | undefined;

/** Why namespace hosts cannot be made here (not root, no `ip` or `iptables`), or undefined. */
export function hostsUnavailable(): string | undefined {
  availability ??= { reason: probeHosts() };
  return availability.reason;
}

function probeHosts(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (Deno.uid() !== 0) return "needs root (ip netns, veth, iptables)";
  for (const [tool, args] of [["ip", ["-V"]], ["iptables", ["-S", "FORWARD"]]] as const) {
    try {
      const ok = new Deno.Command(tool, { args: [...args], stdout: "null", stderr: "null" })
        .outputSync().success;
      if (!ok) return `needs a working ${tool}`;
    } catch {
      return `needs ${tool} (iproute2 / iptables)`;
    }
  }
  // Root in a container may still lack the capabilities a namespace needs.
  const probe = `tender-probe-${Deno.pid}`;
  const add = new Deno.Command("ip", { args: ["netns", "add", probe], stderr: "piped" })
    .outputSync();
  if (!add.success) {
    return `cannot create network namespaces (${new TextDecoder().decode(add.stderr).trim()})`;
  }
  new Deno.Command("ip", { args: ["netns", "delete", probe], stderr: "null" }).outputSync();
  return undefined;
}

/** The outcome of a command. */
export interface Output {
  success: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end. */
export async function exec(argv: readonly string[]): Promise<Output> {
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  return {
    success: out.success,
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** Runs a command and throws, naming it and its stderr, when it fails. */
async function must(argv: readonly string[]): Promise<string> {
  const out = await exec(argv);
  if (!out.success) throw new Error(`${argv.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
  return out.stdout;
}

/** Whether process `pid` still exists (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Kills what runs in a namespace (resumed first, so a paused one dies too) and waits. */
async function emptyNetns(netns: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const out = await exec(["ip", "netns", "pids", netns]);
    const pids = out.stdout.split(/\s+/).filter(Boolean).map(Number).filter(alive);
    if (pids.length === 0) return;
    for (const pid of pids) {
      for (const signal of ["SIGCONT", "SIGKILL"] as const) {
        try {
          Deno.kill(pid, signal);
        } catch { /* gone */ }
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The iptables rules (as `-A CHAIN …` lines) that carry a harness comment. */
async function harnessRules(): Promise<string[]> {
  const out = await exec(["iptables", "-S"]);
  return out.stdout.split("\n").filter((l) => l.startsWith("-A ") && l.includes(RULE_COMMENT));
}

/** Deletes one `-A CHAIN …` rule as `iptables -S` printed it. */
async function deleteRule(line: string): Promise<void> {
  // The rule's words as printed; the comment is quoted only when it has spaces (ours has none).
  const words = line.slice(3).split(/\s+/).map((w) => w.replace(/^"|"$/g, ""));
  await exec(["iptables", "-D", ...words]);
}

/** Ids of runs whose owner process is gone (or unknown). */
function orphaned(id: string): boolean {
  try {
    return !alive(Number(Deno.readTextFileSync(`${OWNERS}/${id}`).trim()));
  } catch {
    return true;
  }
}

/**
 * Removes what earlier runs left behind (namespaces, links, rules) whose test process is gone;
 * the namespaces, links and rules of live runs (another test process) are left alone.
 */
export async function sweepLeftoverHosts(): Promise<void> {
  const netnsOut = await exec(["ip", "netns", "list"]);
  for (const line of netnsOut.stdout.split("\n")) {
    const netns = line.split(" ")[0] ?? "";
    const m = /^tender-([0-9a-f]{4})-[a-z0-9]+$/.exec(netns);
    if (!m || !orphaned(m[1]!)) continue;
    await emptyNetns(netns);
    await exec(["ip", "netns", "delete", netns]);
  }
  const links = await exec(["ip", "-o", "link", "show"]);
  const names = [...links.stdout.matchAll(/^\d+: (tdh[0-9a-f]{4}[a-z0-9]*)[@:]/gm)].map((m) =>
    m[1]!
  );
  // Veths before bridges.
  names.sort((a, b) => b.length - a.length);
  for (const name of names) {
    if (orphaned(name.slice(3, 7))) await exec(["ip", "link", "delete", name]);
  }
  for (const rule of await harnessRules()) {
    const m = new RegExp(`${RULE_COMMENT}([0-9a-f]{4})`).exec(rule);
    if (m && orphaned(m[1]!)) await deleteRule(rule);
  }
  try {
    for (const entry of Deno.readDirSync(OWNERS)) {
      if (orphaned(entry.name)) Deno.removeSync(`${OWNERS}/${entry.name}`);
    }
  } catch { /* no owners dir yet */ }
}

/** Picks a third octet for 10.213.N.0/24 that no address or route of this machine uses. */
async function freeSubnet(): Promise<number> {
  const routes = await must(["ip", "-4", "route", "show", "table", "all"]);
  const addrs = await must(["ip", "-4", "-o", "addr", "show"]);
  const used = new Set(
    [...`${routes}\n${addrs}`.matchAll(/10\.213\.(\d+)\./g)].map((m) => Number(m[1])),
  );
  const free = [...Array(254).keys()].map((i) => i + 1).filter((n) => !used.has(n));
  if (free.length === 0) throw new Error("No free 10.213.N.0/24 subnet for test hosts");
  return free[Math.floor(Math.random() * free.length)]!;
}

/** N hosts on one test bridge. */
export class Hosts {
  /** The root namespace as a host: the test process and Docker run here. */
  readonly root: Host;
  readonly #hosts: Host[];
  readonly #cut = new Set<string>();
  #chain = "";
  #closed = false;
  readonly #onClose: (() => Promise<void>)[] = [];

  private constructor(
    /** 4 hex digits in every name this run creates. */
    readonly id: string,
    /** The third octet of the subnet. */
    readonly octet: number,
    names: readonly string[],
  ) {
    this.root = { name: "h0", ip: `10.213.${octet}.254`, wrap: [] };
    this.#hosts = names.map((name, i) => {
      const netns = `${NETNS_PREFIX}${id}-${name}`;
      return { name, ip: `10.213.${octet}.${i + 1}`, netns, wrap: ["ip", "netns", "exec", netns] };
    });
  }

  /** The bridge's name. */
  get bridge(): string {
    return `${LINK_PREFIX}${this.id}`;
  }

  /** `10.213.N.0/24`. */
  get subnet(): string {
    return `10.213.${this.octet}.0/24`;
  }

  /** Every namespace host, in order (not the root). */
  get list(): readonly Host[] {
    return this.#hosts;
  }

  /**
   * Creates `count` hosts named h1…hN (or the given names, up to 7 lowercase letters and
   * digits), after sweeping leftovers of dead runs. Throws when this machine cannot (see
   * `hostsUnavailable()`); on a failure half-way, removes what it made.
   */
  static async create(options: { count?: number; names?: string[] } = {}): Promise<Hosts> {
    const reason = hostsUnavailable();
    if (reason) throw new Error(`Cannot create test hosts: ${reason}`);
    const names = options.names ?? [...Array(options.count ?? 2).keys()].map((i) => `h${i + 1}`);
    for (const name of names) {
      if (!NAME.test(name) || name === "h0") throw new Error(`Invalid host name "${name}"`);
    }
    if (new Set(names).size !== names.length) throw new Error("Host names must differ");
    if (interrupted) throw new Error("Interrupted: no new test hosts");
    await sweepLeftoverHosts();
    let id: string;
    do {
      id = crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16).padStart(4, "0");
    } while (!orphaned(id) || (await exec(["ip", "link", "show", `${LINK_PREFIX}${id}`])).success);
    await Deno.mkdir(OWNERS, { recursive: true });
    await Deno.writeTextFile(`${OWNERS}/${id}`, String(Deno.pid));
    const hosts = new Hosts(id, await freeSubnet(), names);
    if (open.size === 0) listenForSignals(true);
    open.add(hosts);
    try {
      await hosts.#build();
    } catch (e) {
      await hosts.close();
      throw e;
    }
    return hosts;
  }

  /** The host of that name (`h0` is the root). */
  host(name: string): Host {
    const host = name === "h0" ? this.root : this.#hosts.find((h) => h.name === name);
    if (!host) {
      throw new Error(`No test host "${name}" (have h0, ${this.#hosts.map((h) => h.name)})`);
    }
    return host;
  }

  /** Runs a command on a host to its end. */
  async run(host: Host, argv: readonly string[]): Promise<Output> {
    return await exec([...host.wrap, ...argv]);
  }

  /** Cuts a host off: its link goes down, packets to and from it are lost. */
  async cut(host: Host): Promise<void> {
    if (!host.netns) throw new Error("The root namespace's link cannot be cut");
    await must(["ip", "link", "set", this.#veth(host), "down"]);
    this.#cut.add(host.name);
  }

  /** Brings a cut host's link back up. */
  async restore(host: Host): Promise<void> {
    if (!host.netns) return;
    await must(["ip", "link", "set", this.#veth(host), "up"]);
    this.#cut.delete(host.name);
  }

  /** Whether the host's link is cut now. */
  isCut(host: Host): boolean {
    return this.#cut.has(host.name);
  }

  /**
   * Runs `cleanup` at the end of `close()`, also when Ctrl-C closes the hosts (e.g. removing
   * the dirs of what ran on them). A failing cleanup is logged.
   */
  onClose(cleanup: () => Promise<void>): void {
    this.#onClose.push(cleanup);
  }

  /**
   * Kills every process left in the namespaces, removes namespaces, links, bridge and rule,
   * then runs the `onClose` cleanups. Idempotent; never throws (a failure is logged: the next
   * run's sweep gets the rest).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const problems: string[] = [];
    for (const host of this.#hosts) {
      await emptyNetns(host.netns!);
      const del = await exec(["ip", "netns", "delete", host.netns!]);
      if (!del.success && !/No such file/.test(del.stderr)) problems.push(del.stderr.trim());
      await exec(["ip", "link", "delete", this.#veth(host)]);
    }
    await exec(["ip", "link", "delete", this.bridge]);
    for (const rule of await harnessRules()) {
      if (rule.includes(`${RULE_COMMENT}${this.id}`)) await deleteRule(rule);
    }
    await Deno.remove(`${OWNERS}/${this.id}`).catch(() => {});
    for (const cleanup of this.#onClose) {
      await cleanup().catch((e) => problems.push(`cleanup: ${e instanceof Error ? e.message : e}`));
    }
    open.delete(this);
    if (open.size === 0 && !interrupted) listenForSignals(false);
    if (problems.length > 0) console.error(`Hosts.close(): ${problems.join("; ")}`);
  }

  #veth(host: Host): string {
    return `${LINK_PREFIX}${this.id}${host.name}`;
  }

  async #build(): Promise<void> {
    const bridge = this.bridge;
    await must(["ip", "link", "add", bridge, "type", "bridge"]);
    await must(["ip", "addr", "add", `${this.root.ip}/24`, "dev", bridge]);
    await must(["ip", "link", "set", bridge, "up"]);
    // Frames between bridge ports pass iptables' FORWARD (br_netfilter), whose policy Docker
    // sets to DROP; DOCKER-USER is the chain Docker leaves to us.
    this.#chain = (await exec(["iptables", "-S", "DOCKER-USER"])).success
      ? "DOCKER-USER"
      : "FORWARD";
    await must([
      ...["iptables", "-I", this.#chain, "-i", bridge, "-o", bridge],
      ...["-m", "comment", "--comment", `${RULE_COMMENT}${this.id}`, "-j", "ACCEPT"],
    ]);
    for (const host of this.#hosts) {
      const netns = host.netns!;
      const outside = this.#veth(host), inside = `${outside}p`;
      await must(["ip", "netns", "add", netns]);
      await must(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside]);
      await must(["ip", "link", "set", inside, "netns", netns]);
      await must(["ip", "link", "set", outside, "master", bridge, "up"]);
      const inNs = ["ip", "netns", "exec", netns, "ip"];
      await must([...inNs, "link", "set", inside, "name", "eth0"]);
      await must([...inNs, "addr", "add", `${host.ip}/24`, "dev", "eth0"]);
      await must([...inNs, "link", "set", "eth0", "up"]);
      await must([...inNs, "link", "set", "lo", "up"]);
    }
  }
}
