/**
 * What a containerd node needs before its first pod, checked (and provided when missing) once
 * per containerizer: a CRI plugin that answers, a CNI network (a conflist written into
 * containerd's own `conf_dir` when that holds none), and the pod sandbox ("pause") image that
 * containerd's config names (pulled, else built from busybox-static and imported under that name).
 */
import { z } from "zod";
import { buildBusyboxImage, BUSYBOX, importImage } from "./busybox_image.ts";
import { type CriClient, CriError, type RuntimeStatus } from "./cri_client.ts";

/** The CNI network the agent writes when containerd has none. */
export interface CniNetwork {
  /** Bridge device (at most 15 characters; default `tender0`). */
  bridge?: string;
  /** The pods' subnet (default 10.89.0.0/16). */
  subnet?: string;
  /** host-local's lease directory (default /var/lib/cni/networks). */
  dataDir?: string;
}

/** Options of `prepareNode`. */
export interface NodeOptions {
  network?: CniNetwork;
  /** The busybox-static binary the sandbox image is built from (default /bin/busybox). */
  busybox?: string;
  /** `ctr`, to import a built sandbox image (default `ctr` on the PATH). */
  ctr?: string;
  /** How long pulling containerd's configured sandbox image may take (default 20 s). */
  sandboxPullTimeoutMs?: number;
  log?: (message: string) => void;
}

/** The conflist's file name in containerd's conf_dir. */
export const CNI_CONFLIST = "10-tender.conflist";

const ConfigSchema = z.object({
  sandboxImage: z.string(),
  cni: z.object({ confDir: z.string(), binDir: z.string() }),
});

/** The CNI conflist: bridge + host-local + portmap. */
export function cniConflist(network: CniNetwork = {}): string {
  const ipam: Record<string, unknown> = {
    type: "host-local",
    ranges: [[{ subnet: network.subnet ?? "10.89.0.0/16" }]],
    routes: [{ dst: "0.0.0.0/0" }],
  };
  if (network.dataDir) ipam.dataDir = network.dataDir;
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "tender",
      plugins: [
        {
          type: "bridge",
          bridge: network.bridge ?? "tender0",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam,
        },
        { type: "portmap", capabilities: { portMappings: true }, snat: true },
      ],
    },
    null,
    2,
  );
}

/**
 * Makes the node ready for pods; says in `log` what it provided. Rejects with a message naming
 * the socket when no CRI answers there, or with what is missing.
 */
export async function prepareNode(cri: CriClient, options: NodeOptions = {}): Promise<void> {
  const log = options.log ?? (() => {});
  let status: RuntimeStatus;
  try {
    status = await cri.status({ timeoutMs: 5_000 });
  } catch (e) {
    throw new Error(unreachableMessage(cri.socket, e));
  }
  const config = ConfigSchema.parse(JSON.parse(status.info.config ?? "{}"));
  const ready = (s: RuntimeStatus) =>
    s.status?.conditions.find((c) => c.type === "NetworkReady")?.status ?? false;
  if (!ready(status)) {
    const dir = config.cni.confDir;
    if (!(await hasConf(dir))) {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/${CNI_CONFLIST}`, cniConflist(options.network));
      log(`containerd had no CNI network: wrote ${dir}/${CNI_CONFLIST} (bridge, portmap)`);
    }
    const deadline = Date.now() + 10_000;
    while (!ready(status)) {
      if (Date.now() > deadline) {
        const why = status.status?.conditions.find((c) => c.type === "NetworkReady")?.message;
        throw new Error(`containerd at ${cri.socket} has no ready CNI network in ${dir}: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 100));
      status = await cri.status({ timeoutMs: 5_000 });
    }
  }
  await ensureSandboxImage(cri, config.sandboxImage, options, log);
}

async function ensureSandboxImage(
  cri: CriClient,
  image: string,
  options: NodeOptions,
  log: (message: string) => void,
): Promise<void> {
  if (await cri.imageId(image)) return;
  let reason: string;
  try {
    await cri.pullImage(image, { timeoutMs: options.sandboxPullTimeoutMs ?? 20_000 });
    return;
  } catch (e) {
    reason = e instanceof Error ? e.message : String(e);
  }
  const busybox = options.busybox ?? BUSYBOX;
  try {
    await importImage(cri.socket, image, await buildBusyboxImage("pause", busybox), options.ctr);
  } catch (e) {
    throw new Error(
      `containerd's sandbox image "${image}" cannot be pulled (${reason}) nor built from ` +
        `${busybox}: ${e instanceof Error ? e.message : e}`,
    );
  }
  log(
    `containerd's sandbox image "${image}" could not be pulled (${reason}); ` +
      `provided one built from ${busybox}`,
  );
}

/** The message for a CRI endpoint that does not answer, naming the socket. */
export function unreachableMessage(socket: string, e: unknown): string {
  if (e instanceof CriError && e.grpcCode === 12) {
    return `containerd at ${socket} has no CRI plugin (is "cri" in its disabled_plugins?)`;
  }
  const why = e instanceof Error ? e.message : String(e);
  return `No containerd answers CRI at ${socket}: ${why}`;
}

/**
 * Why a task cannot join the CNI network `name`, or undefined when it can. CRI puts every pod on
 * the first network of containerd's `conf_dir` (its `max_conf_num` is 1 by default), so only that
 * one can be named; a name no config there has is unknown.
 */
export async function cniNetworkRefusal(cri: CriClient, name: string): Promise<string | undefined> {
  const status = await cri.status({ timeoutMs: 5_000 });
  const dir = ConfigSchema.parse(JSON.parse(status.info.config ?? "{}")).cni.confDir;
  const names: string[] = [];
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (/\.(conf|conflist|json)$/.test(entry.name)) files.push(entry.name);
    }
  } catch {
    // Missing: no network.
  }
  for (const file of files.sort()) {
    try {
      const conf = JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
      if (typeof conf?.name === "string") names.push(conf.name);
    } catch {
      // Not a config containerd could read either.
    }
  }
  if (names[0] === name) return undefined;
  if (!names.includes(name)) {
    return `CNI network "${name}" does not exist in containerd's ${dir} ` +
      `(networks there: ${names.map((n) => `"${n}"`).join(", ") || "none"})`;
  }
  return `CNI network "${name}" cannot be joined: containerd puts every pod on the first ` +
    `network of ${dir}, "${names[0]}"`;
}

async function hasConf(dir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (/\.(conf|conflist|json)$/.test(entry.name)) return true;
    }
  } catch {
    // Missing: nothing configured.
  }
  return false;
}
