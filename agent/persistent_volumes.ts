/**
 * An agent's checkpointed resources (its dynamic reservations and persistent volumes, as the
 * master's CHECKPOINT_RESOURCES gives them) and the directories of its persistent volumes:
 * `<work dir>/volumes/roles/<role>/<persistence id>`, as Mesos lays them out. A volume's
 * directory is made when the volume is created and removed when it is destroyed; tasks come
 * and go over it.
 */
import { z } from "zod";
import type { TaskInfo } from "../protocol/mod.ts";
import { applyCheckpointed, Resources, ResourceSchema } from "../protocol/mod.ts";
import type { Mount } from "./containerizer/containerizer.ts";
import { keys } from "./keys.ts";

const CheckpointedSchema = z.array(ResourceSchema);

/**
 * A persistent volume's directory. A hierarchical role (`eng/web`) is one path segment, its
 * slashes escaped, so that no role's volumes lie inside another's.
 */
export function volumePath(workDir: string, role: string, persistenceId: string): string {
  return `${workDir}/volumes/roles/${encodeURIComponent(role)}/${persistenceId}`;
}

/** Each persistent volume of `resources`, with its directory on this agent. */
function volumesOf(workDir: string, resources: Resources) {
  return resources.persistentVolumes().flatMap((v) =>
    v.role === undefined ? [] : [{ ...v, path: volumePath(workDir, v.role, v.id) }]
  );
}

/**
 * The mounts of the persistent volumes a task uses (its resources name them): each volume's
 * directory at its `container_path`, read-write unless the task's resource says RO.
 */
export function persistentVolumeMounts(workDir: string, task: TaskInfo): Mount[] {
  return volumesOf(workDir, Resources.fromMesos(task.resources)).map((v) => ({
    hostPath: v.path,
    containerPath: v.disk.volume?.container_path ?? v.id,
    readOnly: v.disk.volume?.mode === "RO",
  }));
}

/** The checkpointed resources kept in the agent's store (none before the first operation). */
export async function loadCheckpointed(kv: Deno.Kv): Promise<Resources> {
  const saved = await kv.get<string>(keys.checkpointedResources());
  if (typeof saved.value !== "string") return Resources.empty();
  const parsed = CheckpointedSchema.safeParse(JSON.parse(saved.value));
  if (!parsed.success) {
    throw new Error(
      `The agent's checkpointed resources are unreadable: ${parsed.error.issues[0]?.message}`,
    );
  }
  return Resources.fromMesos(parsed.data);
}

/** Keeps checkpointed resources in the agent's store. */
export async function saveCheckpointed(kv: Deno.Kv, checkpointed: Resources): Promise<void> {
  await kv.set(keys.checkpointedResources(), JSON.stringify(checkpointed.toMesos()));
}

/**
 * The agent's total: its `--resources` with the checkpointed resources applied. Throws when the
 * flag no longer holds what they were made from (Mesos refuses to start then as well).
 */
export function agentTotal(base: Resources, checkpointed: Resources): Resources {
  try {
    return applyCheckpointed(base, checkpointed);
  } catch (e) {
    throw new Error(
      `Cannot start with --resources ${base}: ${e instanceof Error ? e.message : e}; ` +
        `start the agent with resources that hold them, or with a fresh work directory`,
    );
  }
}

/**
 * Makes the volume directories match `after`: directories of new volumes are made, those of
 * volumes no longer in it (destroyed) removed with their data. Returns what it did, for the log.
 */
export async function syncVolumeDirs(
  workDir: string,
  before: Resources,
  after: Resources,
): Promise<string[]> {
  const done: string[] = [];
  const keep = new Set(volumesOf(workDir, after).map((v) => v.path));
  for (const v of volumesOf(workDir, after)) {
    const exists = await Deno.stat(v.path).then(() => true, () => false);
    if (exists) continue;
    await Deno.mkdir(v.path, { recursive: true });
    done.push(`Created persistent volume "${v.id}" of role "${v.role}" at ${v.path}`);
  }
  for (const v of volumesOf(workDir, before)) {
    if (keep.has(v.path)) continue;
    await Deno.remove(v.path, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    done.push(`Removed persistent volume "${v.id}" of role "${v.role}" (${v.path})`);
  }
  return done;
}
