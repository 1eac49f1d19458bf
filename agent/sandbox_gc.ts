/**
 * Sandbox garbage collection, as Mesos' `--gc_delay`: a sandbox the agent no longer tracks is
 * removed once it has been left alone for the delay. The agent touches a sandbox when it forgets
 * its task, so the delay counts from the task's end; a sandbox of a task still tracked is never
 * removed. Framework directories left empty go too.
 */

/** Mesos' default `--gc_delay`: one week. */
export const DEFAULT_GC_DELAY_MS = 7 * 24 * 3600_000;

/**
 * Removes every sandbox under `workDir/sandboxes` not in `live` whose modification time is
 * `delayMs` or more before `now`; answers the removed paths.
 */
export async function sweepSandboxes(
  workDir: string,
  live: ReadonlySet<string>,
  delayMs: number,
  now: number,
): Promise<string[]> {
  const removed: string[] = [];
  const root = `${workDir}/sandboxes`;
  for (const framework of await entries(root)) {
    const dir = `${root}/${framework}`;
    const tasks = await entries(dir);
    let left = tasks.length;
    for (const task of tasks) {
      const sandbox = `${dir}/${task}`;
      if (live.has(sandbox)) continue;
      const mtime = (await Deno.stat(sandbox).catch(() => undefined))?.mtime?.getTime();
      if (mtime === undefined || now - mtime < delayMs) continue;
      await Deno.remove(sandbox, { recursive: true }).catch(() => undefined);
      removed.push(sandbox);
      left--;
    }
    if (left === 0) await Deno.remove(dir).catch(() => undefined);
  }
  return removed;
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
  } catch {
    // Not there (yet): nothing to sweep.
  }
  return names;
}
