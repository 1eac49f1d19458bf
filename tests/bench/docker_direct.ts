/**
 * Baseline for launch latency: starts N busybox `sleep 3600` containers straight through the
 * Engine API (no Tender in the way), at a given concurrency, and removes them afterwards. With
 * `like`, each is created with that container's shape (see `shapeOf`), so the baseline starts
 * the same containers Tender's agent did, published ports and all.
 *
 *     deno run -A tests/bench/docker_direct.ts [n=50] [concurrency=8]
 *     → direct_start_50 <ms> ms
 *       containerizer_start_50 <ms> ms   (the same through DockerContainerizer.launch)
 */
import { DockerContainerizer } from "../../agent/containerizer/docker.ts";
import { type CreateContainerBody, DockerEngine } from "../../agent/containerizer/docker_engine.ts";

const SOCKET = Deno.env.get("DOCKER_HOST")?.startsWith("unix://")
  ? Deno.env.get("DOCKER_HOST")!.slice("unix://".length)
  : "/var/run/docker.sock";
const IMAGE = "tender-busybox:latest";

/**
 * What makes Docker work when it creates and starts an existing container: its image, command,
 * environment, labels, limits, network, bind mounts and published ports, read with `docker
 * inspect`. Tender's labels are dropped (the copies must not pass for the agent's), bind mounts
 * get `mount` as their host side, and published ports a host port Docker picks.
 */
export async function shapeOf(container: string, mount: string): Promise<CreateContainerBody> {
  const out = await new Deno.Command("docker", { args: ["inspect", container], stdout: "piped" })
    .output();
  if (!out.success) throw new Error(`docker inspect ${container} failed`);
  const [info] = JSON.parse(new TextDecoder().decode(out.stdout));
  const { Config: config, HostConfig: host } = info;
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const [port, binds] of Object.entries(host.PortBindings ?? {})) {
    bindings[port] = (binds as { HostIp: string }[]).map((b) => ({
      HostIp: b.HostIp,
      HostPort: "",
    }));
  }
  return {
    Image: config.Image,
    Labels: Object.fromEntries(
      Object.entries(config.Labels ?? {}).filter(([k]) => !k.startsWith("tender.")),
    ) as Record<string, string>,
    Env: config.Env ?? [],
    ...(config.Entrypoint ? { Entrypoint: config.Entrypoint } : {}),
    ...(config.Cmd ? { Cmd: config.Cmd } : {}),
    ExposedPorts: config.ExposedPorts ?? {},
    HostConfig: {
      NetworkMode: host.NetworkMode,
      Privileged: host.Privileged,
      CpuShares: host.CpuShares,
      NanoCpus: host.NanoCpus,
      Memory: host.Memory,
      MemorySwap: host.MemorySwap,
      PortBindings: bindings,
      Binds: (host.Binds ?? []).map((b: string) => `${mount}:${b.split(":").slice(1).join(":")}`),
    },
  };
}

/**
 * Milliseconds from the first create until all `n` containers run (clean-up not counted), each a
 * `sleep 3600` on the bridge network, or shaped `like` a given body.
 */
export async function startContainersDirect(
  n: number,
  concurrency: number,
  like?: CreateContainerBody,
): Promise<number> {
  const engine = new DockerEngine(SOCKET);
  const owner = `bench-direct-${crypto.randomUUID().slice(0, 8)}`;
  const body: CreateContainerBody = like
    ? { ...like, Labels: { ...like.Labels, "tender.owner": owner } }
    : {
      Image: IMAGE,
      Labels: { "tender.owner": owner },
      Env: [],
      Cmd: ["sleep", "3600"],
      HostConfig: { NetworkMode: "bridge" },
    };
  try {
    if (!await engine.hasImage(body.Image)) {
      throw new Error(`${body.Image} is missing: run scripts/build-test-image.sh`);
    }
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const id = await engine.create(`${owner}-${i}`, body);
        await engine.start(id);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
    const elapsed = performance.now() - started;
    const running = (await engine.list([`tender.owner=${owner}`]))
      .filter((c) => c.State === "running").length;
    if (running !== n) throw new Error(`only ${running} of ${n} containers run`);
    return elapsed;
  } finally {
    const all = await engine.list([`tender.owner=${owner}`]).catch(() => []);
    await Promise.all(all.map((c) => engine.remove(c.Id).catch(() => undefined)));
    engine.close();
  }
}

/** The same, through `DockerContainerizer.launch()` (pull check, create with limits, start, watch). */
export async function startContainersViaContainerizer(
  n: number,
  concurrency: number,
): Promise<number> {
  const owner = `bench-containerizer-${crypto.randomUUID().slice(0, 8)}`;
  const c = new DockerContainerizer({ socketPath: SOCKET, owner });
  const sandbox = await Deno.makeTempDir({ prefix: "tender-bench-" });
  const ids = Array.from({ length: n }, (_, i) => `${owner}-${i}`);
  try {
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < n) {
        const id = ids[next++] ?? "";
        await c.launch(id, {
          agentId: "bench",
          frameworkId: "bench",
          taskId: id,
          command: { shell: false, value: "sleep", arguments: ["3600"] },
          container: { type: "DOCKER", docker: { image: IMAGE, network: "BRIDGE" } },
          limits: { cpus: 0.01, memMb: 16, diskMb: 0 },
          ports: [],
          env: {},
          hostIp: "127.0.0.1",
          sandbox,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
    return performance.now() - started;
  } finally {
    await Promise.all(ids.map((id) => c.destroy(id, 0).catch(() => undefined)));
    c.close();
    await Deno.remove(sandbox, { recursive: true });
  }
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 50);
  const concurrency = Number(Deno.args[1] ?? 8);
  const ms = await startContainersDirect(n, concurrency);
  console.log(`direct_start_${n} ${Math.round(ms)} ms`);
  const viaContainerizer = await startContainersViaContainerizer(n, concurrency);
  console.log(`containerizer_start_${n} ${Math.round(viaContainerizer)} ms`);
}
