/**
 * The agent's `--containerizer containerd`: checks that containerd's CRI answers on the socket
 * (failing the start with a message naming it when not), prepares the node (CNI network,
 * sandbox image), and routes tasks with an image to containerd, plain commands to processes.
 */
import type { Clock } from "../../base/mod.ts";
import { CompositeContainerizer } from "./composite.ts";
import type { Containerizer } from "./containerizer.ts";
import { ContainerdContainerizer, probeContainerd } from "./containerd.ts";
import { imageOf } from "./containerd_spec.ts";
import type { ProcessContainerizer } from "./process.ts";

/** What `startContainerd` needs from the agent. */
export interface ContainerdStartOptions {
  socketPath: string;
  owner: string;
  clock: Clock;
  cpuQuota: boolean;
  /** Runs the tasks that name no image. */
  processes: ProcessContainerizer;
  log: (message: string) => void;
}

/** The agent's containerizer on containerd, ready for pods; rejects naming the socket. */
export async function startContainerd(
  options: ContainerdStartOptions,
): Promise<{ containerizer: Containerizer; close: () => void }> {
  const probe = await probeContainerd(options.socketPath);
  if (!probe.ok) {
    throw new Error(
      `${probe.reason} (start containerd with its CRI plugin, or --containerd-socket)`,
    );
  }
  const containerd = new ContainerdContainerizer({
    socketPath: options.socketPath,
    owner: options.owner,
    clock: options.clock,
    cpuQuota: options.cpuQuota,
    node: { log: options.log },
  });
  try {
    await containerd.prepare();
  } catch (e) {
    containerd.close();
    throw e;
  }
  options.log(`containerd ${probe.version} answers CRI at ${options.socketPath}`);
  return {
    containerizer: new CompositeContainerizer({
      docker: containerd,
      process: options.processes,
      inEngine: (spec) => imageOf(spec.container) !== undefined,
    }),
    close: () => {
      containerd.close();
      options.processes.close();
    },
  };
}
