/**
 * What really runs on each host, whatever any agent, master or Marathon believes: every process
 * in a host's network namespace whose environment names a task (`MESOS_TASK_ID`, set by the
 * agent) is that task's. Read from /proc, so it works while an agent is paused, killed or cut
 * off. Tasks are grouped by id, with their process groups (what a "task process kill" fault
 * SIGKILLs).
 */

/** One task's processes on one host. */
export interface RunningTask {
  taskId: string;
  /** `MARATHON_APP_ID`, when Marathon launched it. */
  appId?: string;
  /** The host's name (`h4`). */
  host: string;
  /** Process groups of its processes (the wrapper's group, normally one). */
  pgids: number[];
}

/** `NAME=value` pairs of a `/proc/PID/environ` (NUL-separated). */
export function parseEnviron(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** The state letter and process group of a `/proc/PID/stat` line. */
export function parseStat(text: string): { state: string; pgid: number } | undefined {
  // The command name is in parentheses and may hold spaces or parentheses: split after the last.
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(" ");
  const pgid = Number(fields[2]);
  return fields[0] && Number.isInteger(pgid) ? { state: fields[0], pgid } : undefined;
}

/** Groups processes (host, environment, process group) into tasks. */
export function groupTasks(
  processes: readonly { host: string; env: Map<string, string>; pgid: number }[],
): RunningTask[] {
  const byKey = new Map<string, RunningTask>();
  for (const p of processes) {
    const taskId = p.env.get("MESOS_TASK_ID");
    if (!taskId) continue;
    const key = `${p.host}\0${taskId}`;
    let task = byKey.get(key);
    if (!task) {
      const appId = p.env.get("MARATHON_APP_ID");
      task = { taskId, host: p.host, pgids: [], ...(appId ? { appId } : {}) };
      byKey.set(key, task);
    }
    if (!task.pgids.includes(p.pgid)) task.pgids.push(p.pgid);
  }
  return [...byKey.values()];
}

/** The inode of a network namespace (`/run/netns/NAME`), or of a process's (`/proc/PID/ns/net`). */
function netnsInode(path: string): number | undefined {
  try {
    return Deno.statSync(path).ino ?? undefined;
  } catch {
    return undefined;
  }
}

/** Every task process in the given namespaces (`host name → netns name`). */
export async function runningTasks(
  netnsOfHost: ReadonlyMap<string, string>,
): Promise<RunningTask[]> {
  const hostOfInode = new Map<number, string>();
  for (const [host, netns] of netnsOfHost) {
    const ino = netnsInode(`/run/netns/${netns}`);
    if (ino !== undefined) hostOfInode.set(ino, host);
  }
  const processes: { host: string; env: Map<string, string>; pgid: number }[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const ino = netnsInode(`/proc/${entry.name}/ns/net`);
    const host = ino === undefined ? undefined : hostOfInode.get(ino);
    if (!host) continue;
    try {
      const stat = parseStat(await Deno.readTextFile(`/proc/${entry.name}/stat`));
      if (!stat || stat.state === "Z") continue;
      const env = parseEnviron(await Deno.readTextFile(`/proc/${entry.name}/environ`));
      processes.push({ host, env, pgid: stat.pgid });
    } catch {
      // Gone meanwhile.
    }
  }
  return groupTasks(processes);
}

/** SIGKILLs a task's process groups (as a crash or an OOM kill would end it). */
export function killTask(task: RunningTask): void {
  for (const pgid of task.pgids) {
    try {
      Deno.kill(-pgid, "SIGKILL");
    } catch { /* gone */ }
  }
}
