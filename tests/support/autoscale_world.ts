/**
 * An autoscaled web app on real processes, for the autoscaler's test and benchmark: a master and
 * an agent (process containerizer), Marathon, a router and the autoscaler, each its own process;
 * an HTTP app (a Deno server on PORT0 with a Mesos HTTP health check) behind the router's virtual
 * host, and a load generator that sends it a steady rate of requests through the router.
 */
import { Cluster, freePort, TenderProcess, waitFor } from "./cluster.ts";
import { MarathonProcess } from "./marathon_process.ts";
import { call, type Json } from "./marathon_api.ts";

export const VHOST = "web.autoscale.test";

/** Everything running, and how to stop it. */
export class AutoscaleWorld {
  readonly routerPort = freePort();
  readonly scalerPort = freePort();
  router!: TenderProcess;
  scaler!: TenderProcess;
  marathon!: MarathonProcess;

  private constructor(readonly cluster: Cluster) {}

  get scalerUrl(): string {
    return `http://127.0.0.1:${this.scalerPort}`;
  }

  /** Starts the processes; `interval` is the autoscaler's pass interval in seconds. */
  static async start(options: { interval?: number } = {}): Promise<AutoscaleWorld> {
    const cluster = await Cluster.start();
    const w = new AutoscaleWorld(cluster);
    try {
      await cluster.addAgent([
        "--containerizer",
        "process",
        "--resources",
        "cpus:8;mem:4096;disk:1024;ports:[31000-31099]",
      ]);
      w.marathon = new MarathonProcess("marathon", [
        "--master",
        cluster.masterUrl,
        "--work-dir",
        `${cluster.root}/marathon`,
      ]);
      await w.marathon.start();
      w.router = new TenderProcess("router", "router/main.ts", [
        "--master",
        cluster.masterUrl,
        "--http-port",
        String(w.routerPort),
        "--poll-ms",
        "250",
      ]);
      w.router.start();
      w.scaler = new TenderProcess("autoscaler", "autoscaler/main.ts", [
        "--marathon",
        w.marathon.url,
        "--router",
        `http://127.0.0.1:${w.routerPort}`,
        "--interval",
        String(options.interval ?? 1),
        "--port",
        String(w.scalerPort),
        "--log-level",
        "info",
      ]);
      w.scaler.start();
      await waitFor("the router and the autoscaler", async () => {
        const [a, b] = await Promise.all([
          fetch(`http://127.0.0.1:${w.routerPort}/_router/state`).then((r) => r.json()),
          fetch(`${w.scalerUrl}/ping`).then((r) => r.text()),
        ]);
        return a && b === "pong";
      }, 60_000);
    } catch (e) {
      await w.stop();
      throw e;
    }
    return w;
  }

  /**
   * Posts the web app with `labels` (the autoscaling policy) and waits for it to serve. Its health
   * check starts `healthDelaySeconds` after launch (default 1; Marathon's own default is 15).
   */
  async deploy(labels: Record<string, string>, healthDelaySeconds = 1): Promise<void> {
    const server = `Deno.serve({ hostname: "0.0.0.0", port: Number(Deno.env.get("PORT0")), ` +
      `onListen() {} }, () => new Response("ok"))`;
    const r = await call(`${this.marathon.url}/v2/apps`, "POST", {
      id: "/web",
      cmd: `${Deno.execPath()} eval '${server}'`,
      cpus: 0.1,
      mem: 128,
      instances: 1,
      portDefinitions: [{ port: 0, name: "http" }],
      healthChecks: [{
        protocol: "MESOS_HTTP",
        portIndex: 0,
        path: "/",
        gracePeriodSeconds: 10,
        delaySeconds: healthDelaySeconds,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 3,
      }],
      labels: { TENDER_VHOST: VHOST, ...labels },
    });
    if (r.status !== 201) throw new Error(`POST /v2/apps: ${r.status} ${JSON.stringify(r.json)}`);
    await waitFor("the app to serve through the router", async () => {
      const res = await fetch(`http://127.0.0.1:${this.routerPort}/`, {
        headers: { Host: VHOST },
        client: hostClient(),
      });
      return (await res.text()) === "ok";
    }, 60_000);
  }

  /** The app as Marathon shows it. */
  async app(): Promise<Json> {
    return (await call(`${this.marathon.url}/v2/apps/web`)).json.app;
  }

  /** The autoscaler's events. */
  async events(): Promise<Json[]> {
    return (await call(`${this.scalerUrl}/events`)).json;
  }

  async stop(): Promise<void> {
    await this.scaler?.kill("SIGKILL");
    await this.router?.kill("SIGKILL");
    await this.marathon?.kill("SIGKILL");
    await this.cluster.stop();
    client?.close();
    client = undefined;
  }
}

let client: Deno.HttpClient | undefined;
/** A fetch client that may set the Host header (the router picks the vhost by it). */
function hostClient(): Deno.HttpClient {
  return client ??= Deno.createHttpClient({ allowHost: true });
}

/**
 * Sends about `rps` requests per second to the app through the router, from `workers` loops,
 * until `stop()`; counts the answers.
 */
export class LoadGenerator {
  ok = 0;
  failed = 0;
  readonly #life = new AbortController();
  readonly #done: Promise<void>;

  constructor(routerPort: number, options: { rps: number; workers?: number }) {
    const workers = options.workers ?? 8;
    const gapMs = (1000 * workers) / options.rps;
    const url = `http://127.0.0.1:${routerPort}/`;
    const loop = async () => {
      let next = performance.now();
      while (!this.#life.signal.aborted) {
        try {
          const r = await fetch(url, { headers: { Host: VHOST }, client: hostClient() });
          await r.body?.cancel();
          if (r.ok) this.ok += 1;
          else this.failed += 1;
        } catch {
          this.failed += 1;
        }
        next += gapMs;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else next = performance.now();
      }
    };
    this.#done = Promise.all(Array.from({ length: workers }, loop)).then(() => {});
  }

  async stop(): Promise<void> {
    this.#life.abort();
    await this.#done;
  }
}
