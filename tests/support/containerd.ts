/**
 * A private containerd for tests and benchmarks: its root, state, socket, CNI conf and lease
 * dirs under one temp dir, its own config with the CRI plugin (CNI plugins from /usr/lib/cni),
 * a bridge and /24 of its own. `stop()` removes every pod (so CNI tears its network down), stops
 * containerd and its shims, unmounts what is left under the dir, deletes the bridge and the dir.
 *
 * ```ts
 * const ctd = await startContainerd();
 * try { ... new ContainerdContainerizer({ socketPath: ctd.socket, owner, node: ctd.node }) }
 * finally { await ctd.stop(); }
 * ```
 */
import { buildBusyboxImage, importImage } from "../../agent/containerizer/busybox_image.ts";
import type { NodeOptions } from "../../agent/containerizer/containerd_setup.ts";
import { CriClient } from "../../agent/containerizer/cri_client.ts";

/** Where Debian's containernetworking-plugins puts the CNI plugins. */
export const CNI_BIN_DIR = "/usr/lib/cni";
/** The shell image containerd tests run (the twin of Docker's tender-busybox:latest). */
export const CRI_TEST_IMAGE = "docker.io/library/tender-busybox:latest";

/** Why containerd tests cannot run here (no binary, no CNI plugins, not root), or undefined. */
export const noContainerdReason: string | undefined = await (async () => {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid?.() !== 0) return "not root";
  for (const bin of ["containerd", "ctr", "runc"]) {
    const found = await new Deno.Command("sh", {
      args: ["-c", `command -v ${bin}`],
      stdout: "null",
    })
      .output().then((o) => o.success, () => false);
    if (!found) return `no ${bin} binary`;
  }
  for (const plugin of ["bridge", "host-local", "portmap", "loopback"]) {
    try {
      await Deno.stat(`${CNI_BIN_DIR}/${plugin}`);
    } catch {
      return `no CNI ${plugin} plugin in ${CNI_BIN_DIR} (apt-get install containernetworking-plugins)`;
    }
  }
  return undefined;
})();

/** True when containerd tests are ignored, visibly. */
export const noContainerd = noContainerdReason !== undefined;

/** A running private containerd. */
export interface TestContainerd {
  dir: string;
  socket: string;
  /** What to hand `ContainerdContainerizer` as `node` (its own bridge, subnet, lease dir). */
  node: NodeOptions;
  /** The pods' subnet, e.g. 10.213.7.0/24. */
  subnet: string;
  /** Stops containerd and removes everything it made. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a private containerd and imports the test image into it. */
export async function startContainerd(
  options: { importTestImage?: boolean } = {},
): Promise<TestContainerd> {
  const dir = await Deno.makeTempDir({ prefix: "tender-ctd-" });
  const n = await freeBridgeIndex();
  const bridge = `tndt${n}`;
  const subnet = `10.213.${n}.0/24`;
  const socket = `${dir}/containerd.sock`;
  await Deno.mkdir(`${dir}/net.d`);
  await Deno.mkdir(`${dir}/certs.d`);
  await Deno.writeTextFile(`${dir}/config.toml`, configToml(dir));
  // containerd's own log goes to a file beside it (read back when it fails to start).
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec containerd --config "$1/config.toml" 2>>"$1/containerd.log"', "sh", dir],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let stopped: Promise<void> | undefined;
  const node: NodeOptions = { network: { bridge, subnet, dataDir: `${dir}/cni-leases` } };
  const ctd: TestContainerd = {
    dir,
    socket,
    node,
    subnet,
    stop: () => (stopped ??= teardown({ dir, socket, bridge, child })),
  };
  try {
    await waitForCri(socket, child);
    if (options.importTestImage ?? true) {
      await importImage(socket, CRI_TEST_IMAGE, await buildBusyboxImage("shell"));
    }
    return ctd;
  } catch (e) {
    const text = await Deno.readTextFile(`${dir}/containerd.log`).catch(() => "");
    await ctd.stop();
    throw new Error(
      `${e instanceof Error ? e.message : e}\n${text.split("\n").slice(-15).join("\n")}`,
    );
  }
}

function configToml(dir: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  # Pulling this fails at once (nothing listens on port 1): the agent provides the image itself.
  sandbox_image = "127.0.0.1:1/tender-test/pause:1"
  netns_mounts_under_state_dir = true
  # Lowering a pod's oom_score_adj (-998) needs CAP_SYS_RESOURCE, which a CI container may lack.
  restrict_oom_score_adj = true
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${dir}/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${dir}/certs.d"
`;
}

/** A bridge index 0..255 whose device does not exist yet. */
async function freeBridgeIndex(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const n = Math.floor(Math.random() * 256);
    try {
      await Deno.stat(`/sys/class/net/tndt${n}`);
    } catch {
      return n;
    }
  }
  throw new Error("no free test bridge name");
}

async function waitForCri(socket: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error("containerd exited at start");
    try {
      await Deno.stat(socket);
      const cri = new CriClient(socket);
      try {
        await cri.version({ timeoutMs: 1_000 });
        return;
      } finally {
        cri.close();
      }
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`containerd did not answer CRI at ${socket} within 20 s`);
}

async function teardown(t: {
  dir: string;
  socket: string;
  bridge: string;
  child: Deno.ChildProcess;
}): Promise<void> {
  // 1. Every pod goes through CRI, so CNI removes its veth, iptables rules and IP lease.
  const cri = new CriClient(t.socket);
  try {
    const pods = await cri.listPodSandboxes({}, { timeoutMs: 5_000 });
    await Promise.all(pods.map(async (pod) => {
      await cri.stopPodSandbox(pod.id, { timeoutMs: 30_000 }).catch(() => undefined);
      await cri.removePodSandbox(pod.id, { timeoutMs: 30_000 }).catch(() => undefined);
    }));
  } catch {
    // containerd is not answering: the steps below still clean up.
  } finally {
    cri.close();
  }
  // 2. containerd, then any shim it left (a shim outlives containerd by design).
  try {
    t.child.kill("SIGTERM");
  } catch { /* already gone */ }
  const exited = await Promise.race([
    t.child.status.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), 5_000)),
  ]);
  if (!exited) {
    try {
      t.child.kill("SIGKILL");
    } catch { /* gone */ }
    await t.child.status;
  }
  for (const pid of await processesMentioning(t.dir)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  // 3. Mounts under the dir (rootfs overlays, shm, network namespaces), deepest first.
  const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(t.dir))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    await new Deno.Command("umount", { args: ["-l", mount], stdout: "null", stderr: "null" })
      .output().catch(() => undefined);
  }
  // 4. The bridge CNI made, and the dir.
  await new Deno.Command("ip", {
    args: ["link", "delete", t.bridge],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  await removeIdleHostportChains();
  await Deno.remove(t.dir, { recursive: true }).catch(() => undefined);
}

/**
 * portmap's shared nat chains (CNI-HOSTPORT-*) outlive the last pod; they are removed once no
 * pod uses them (another CNI user adds them back on its next pod).
 */
async function removeIdleHostportChains(): Promise<void> {
  const iptables = async (...args: string[]) => {
    const out = await new Deno.Command("iptables", {
      args: ["-w", "-t", "nat", ...args],
      stdout: "piped",
      stderr: "null",
    })
      .output().catch(() => undefined);
    return out?.success ? new TextDecoder().decode(out.stdout) : undefined;
  };
  const dnat = await iptables("-S", "CNI-HOSTPORT-DNAT");
  if (dnat === undefined || dnat.trim().split("\n").length > 1) return;
  await iptables(
    "-D",
    "PREROUTING",
    "-m",
    "addrtype",
    "--dst-type",
    "LOCAL",
    "-j",
    "CNI-HOSTPORT-DNAT",
  );
  await iptables(
    "-D",
    "OUTPUT",
    "-m",
    "addrtype",
    "--dst-type",
    "LOCAL",
    "-j",
    "CNI-HOSTPORT-DNAT",
  );
  await iptables(
    "-D",
    "POSTROUTING",
    "-m",
    "comment",
    "--comment",
    "CNI portfwd requiring masquerade",
    "-j",
    "CNI-HOSTPORT-MASQ",
  );
  for (const chain of ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"]) {
    await iptables("-F", chain);
    await iptables("-X", chain);
  }
}

/** Pids whose command line names `text` (the shims of our containerd name its dirs). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(text)) pids.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return pids;
}
