/**
 * A real etcd cluster for tests: N members on 127.0.0.1, on free ports, each with a temporary
 * data dir, tuned to elect fast. A member can be killed, paused, resumed and restarted on its
 * data dir; `close()` kills every member and removes the dirs (call it in `finally`). With
 * `placement`, member i listens on `placement[i].ip` (ports 2379/2380 + 2i) and runs prefixed by
 * its `wrap` (e.g. `ip netns exec NS`: a member on a namespace host of tests/support/hosts.ts).
 *
 * ```ts
 * const cluster = await EtcdCluster.start();
 * try {
 *   const client = await EtcdClient.connect(cluster.endpoints);
 * } finally {
 *   await cluster.close();
 * }
 * ```
 */
import { freePort, waitFor } from "./cluster.ts";

/** Whether an `etcd` binary runs here; tests that need one are ignored, visibly, where not. */
export function hasEtcd(): boolean {
  try {
    return new Deno.Command("etcd", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Where a member runs: its address, and what its command is prefixed with. */
export interface EtcdPlacement {
  ip: string;
  wrap?: readonly string[];
}

interface Member {
  name: string;
  wrap: readonly string[];
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child?: Deno.ChildProcess;
  output?: Promise<void>;
  /** The last lines the member logged, for the message of a failed start. */
  log: string[];
}

/** Keeps the last lines a member wrote. */
const LOG_LINES = 100;

/** N etcd members forming one cluster, as child processes. */
export class EtcdCluster {
  readonly #members: Member[];
  readonly #args: (member: Member) => string[];
  #closed = false;

  private constructor(readonly root: string, size: number, placement?: readonly EtcdPlacement[]) {
    const ports = new Set<number>();
    if (placement) {
      // Each host has ports of its own; distinct ones still let two members share a host.
      for (let i = 0; i < size; i++) ports.add(2379 + 2 * i);
      for (let i = 0; i < size; i++) ports.add(2380 + 2 * i);
    } else {
      while (ports.size < size * 2) ports.add(freePort());
    }
    const [clientPorts, peerPorts] = [[...ports].slice(0, size), [...ports].slice(size)];
    this.#members = clientPorts.map((port, i) => {
      const ip = placement?.[i]?.ip ?? "127.0.0.1";
      return {
        name: `m${i}`,
        wrap: placement?.[i]?.wrap ?? [],
        clientUrl: `http://${ip}:${port}`,
        peerUrl: `http://${ip}:${peerPorts[i]}`,
        dataDir: `${root}/m${i}`,
        log: [],
      };
    });
    const initialCluster = this.#members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    const token = `tender-test-${crypto.randomUUID()}`;
    this.#args = (m) => [
      ...["--name", m.name, "--data-dir", m.dataDir],
      ...["--listen-client-urls", m.clientUrl, "--advertise-client-urls", m.clientUrl],
      ...["--listen-peer-urls", m.peerUrl, "--initial-advertise-peer-urls", m.peerUrl],
      ...["--initial-cluster", initialCluster, "--initial-cluster-state", "new"],
      ...["--initial-cluster-token", token],
      // Fast elections: a lost leader is replaced in about half a second.
      ...["--heartbeat-interval", "50", "--election-timeout", "500"],
      ...["--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn"],
    ];
  }

  /**
   * Starts `size` members (default 3, or one per `placement`) and waits until each answers
   * healthy.
   */
  static async start(
    options: { size?: number; timeoutMs?: number; placement?: readonly EtcdPlacement[] } = {},
  ): Promise<EtcdCluster> {
    const root = await Deno.makeTempDir({ prefix: "tender-etcd-" });
    const size = options.size ?? options.placement?.length ?? 3;
    const cluster = new EtcdCluster(root, size, options.placement);
    try {
      cluster.#members.forEach((m) => cluster.#spawn(m));
      await Promise.all(
        cluster.#members.map((_, i) => cluster.waitHealthy(i, options.timeoutMs)),
      );
      return cluster;
    } catch (e) {
      await cluster.close();
      throw e;
    }
  }

  /** Each member's client URL, `http://127.0.0.1:port` (or its placed address). */
  get endpoints(): string[] {
    return this.#members.map((m) => m.clientUrl);
  }

  /** The cluster as a Tender store URL: `etcd://127.0.0.1:p1,127.0.0.1:p2,…/prefix`. */
  url(prefix: string): string {
    const hosts = this.#members.map((m) => m.clientUrl.replace("http://", "")).join(",");
    return `etcd://${hosts}/${prefix.replace(/^\/+/, "")}`;
  }

  /** Kills member `i` with SIGKILL and waits until it is gone. */
  async kill(i: number): Promise<void> {
    const member = this.#member(i);
    const { child, output } = member;
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await output;
    member.child = undefined;
  }

  /** Pauses member `i` (SIGSTOP): its sockets stay open, it answers nothing. */
  stop(i: number): void {
    this.#member(i).child?.kill("SIGSTOP");
  }

  /** Resumes member `i` (SIGCONT). */
  cont(i: number): void {
    this.#member(i).child?.kill("SIGCONT");
  }

  /** Kills member `i` if it runs, starts it again on its data dir and waits until healthy. */
  async restart(i: number, timeoutMs?: number): Promise<void> {
    await this.kill(i);
    this.#spawn(this.#member(i));
    await this.waitHealthy(i, timeoutMs);
  }

  /** Waits until member `i` says it is healthy (it has a leader and a quorum answers it). */
  async waitHealthy(i: number, timeoutMs = 20_000): Promise<void> {
    const member = this.#member(i);
    try {
      await waitFor(`etcd member ${member.name} to be healthy`, async () => {
        const response = await fetch(`${member.clientUrl}/health`, {
          signal: AbortSignal.timeout(1000),
        });
        const body = await response.json();
        return body?.health === "true";
      }, timeoutMs);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : e}\n${member.log.join("\n")}`);
    }
  }

  /** Kills every member and removes the data dirs. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#members.map((_, i) => this.kill(i)));
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  #member(i: number): Member {
    const member = this.#members[i];
    if (!member) throw new Error(`The etcd cluster has no member ${i}`);
    return member;
  }

  #spawn(member: Member): void {
    if (this.#closed) throw new Error("The etcd cluster is closed");
    const [command, ...args] = [...member.wrap, "etcd", ...this.#args(member)];
    const child = new Deno.Command(command!, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        member.log.push(...chunk.split("\n").filter((l) => l !== ""));
        member.log.splice(0, member.log.length - LOG_LINES);
      }
    };
    member.child = child;
    member.output = Promise.all([collect(child.stdout), collect(child.stderr)]).then(() => {});
  }
}
