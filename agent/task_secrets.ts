/**
 * A task's secrets as the agent gives them (Mesos' `Secret` VALUE): environment variables of
 * `type: SECRET` become variables of the task, volumes with a SECRET source become read-only files
 * (mode 0400, the task user's) — at the relative `container_path` in the sandbox, or, for an
 * absolute one, kept in the sandbox's `.secrets/` and mounted there. REFERENCE secrets are
 * refused: this agent has no secret resolver. Values never enter the agent's records.
 */
import { secretBytes, type TaskInfo } from "../protocol/mod.ts";
import type { Mount } from "./containerizer/containerizer.ts";

/** What the agent makes of a task's secrets. */
export interface TaskSecrets {
  /** Environment variables to add (they win over the task's plain ones of the same name). */
  env: Record<string, string>;
  /** Files to write before launch: absolute host paths. */
  files: { path: string; bytes: Uint8Array }[];
  /** Mounts of files for absolute container paths. */
  mounts: Mount[];
}

/** Where the files of absolute-path secret volumes are kept, in the sandbox. */
export const SECRETS_DIR = ".secrets";

/** The task's secrets, or why it cannot be given them (a message for TASK_FAILED). */
export function taskSecrets(
  task: TaskInfo,
  sandbox: string,
): { ok: true; secrets: TaskSecrets } | { ok: false; reason: string } {
  const name = `task "${task.task_id.value}"`;
  const secrets: TaskSecrets = { env: {}, files: [], mounts: [] };
  const decoder = new TextDecoder();
  for (const v of task.command?.environment?.variables ?? []) {
    if (v.type !== "SECRET") continue;
    const got = secretBytes(v.secret, `Cannot give ${name} variable ${v.name}`);
    if (!got.ok) return got;
    secrets.env[v.name] = decoder.decode(got.bytes);
  }
  // The image's Docker config is read by the containerizer at pull time; a REFERENCE one is
  // refused here, before anything is made, as the other secrets.
  const image = task.container?.mesos?.image?.docker;
  if (image?.credential) {
    return {
      ok: false,
      reason: `Cannot pull the image of ${name}: Image.Docker.credential is deprecated and ` +
        `unused (as in Mesos); give the registry's login as a Docker config in Image.Docker.config`,
    };
  }
  const config = image?.config;
  if (config) {
    const got = secretBytes(config, `Cannot give ${name} the Docker config of its image`);
    if (!got.ok) return got;
  }
  const volumes = task.container?.volumes ?? [];
  for (const [i, volume] of volumes.entries()) {
    if (volume.source?.type !== "SECRET") continue;
    const target = volume.container_path;
    if (target === "" || target.split("/").includes("..")) {
      return { ok: false, reason: `Cannot write secret "${target}" in ${name}: not a usable path` };
    }
    const got = secretBytes(volume.source.secret, `Cannot write secret "${target}" in ${name}`);
    if (!got.ok) return got;
    if (target.startsWith("/")) {
      const path = `${sandbox}/${SECRETS_DIR}/${i}`;
      secrets.files.push({ path, bytes: got.bytes });
      secrets.mounts.push({ hostPath: path, containerPath: target, readOnly: true });
    } else {
      secrets.files.push({ path: `${sandbox}/${target.replace(/\/+$/, "")}`, bytes: got.bytes });
    }
  }
  return { ok: true, secrets };
}

/**
 * Writes the secret files, readable by their owner only (`owner`: the task user's ids, when the
 * agent may hand them over). An existing file is replaced.
 */
export async function writeSecretFiles(
  files: TaskSecrets["files"],
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  for (const f of files) {
    const dir = f.path.slice(0, f.path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    await Deno.remove(f.path).catch(() => undefined);
    await Deno.writeFile(f.path, f.bytes, { mode: 0o400, createNew: true });
    await Deno.chmod(f.path, 0o400);
    if (owner) await Deno.chown(f.path, owner.uid, owner.gid);
  }
}
