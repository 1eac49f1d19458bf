/** Small Linux process-table helpers (`/proc`), for containerizers that run plain processes. */

/** Fields of `/proc/<pid>/stat` the agent needs. */
export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, names one process across pid reuse. */
  startTime: number;
  /** CPU time in clock ticks: its own (user, kernel) and its reaped children's. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Resident set size in pages. */
  rss: number;
}

/** Parses one `/proc/<pid>/stat` line (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field n sits at rest[n - 3].
  const state = rest[0], pgrp = Number(rest[2]), startTime = Number(rest[19]);
  if (!state || !Number.isFinite(pid) || !Number.isFinite(pgrp) || !Number.isFinite(startTime)) {
    return undefined;
  }
  const n = (i: number) => Number(rest[i] ?? 0) || 0;
  return {
    pid,
    state,
    pgrp,
    startTime,
    utime: n(11),
    stime: n(12),
    cutime: n(13),
    cstime: n(14),
    rss: n(21),
  };
}

/** The stat of a live (not zombie) process, undefined when it is gone. */
export async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const stat = parseProcStat(await Deno.readTextFile(`/proc/${pid}/stat`));
    return stat && stat.state !== "Z" && stat.state !== "X" ? stat : undefined;
  } catch {
    return undefined;
  }
}

/** Whether any live process is still in process group `pgid`. */
export async function groupAlive(pgid: number): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await procStat(Number(entry.name));
    if (stat && stat.pgrp === pgid) return true;
  }
  return false;
}

/** Linux's USER_HZ (clock ticks per second of `/proc/<pid>/stat`) and page size. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/**
 * CPU time and resident memory of process group `pgid`: its live members' own and reaped
 * children's time (a child that ended counts once its parent reaped it), their summed RSS.
 * Undefined when no process of the group lives.
 */
export async function groupUsage(
  pgid: number,
): Promise<{ userSeconds: number; systemSeconds: number; rssBytes: number } | undefined> {
  let user = 0, system = 0, rss = 0, found = false;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await procStat(Number(entry.name));
    if (!stat || stat.pgrp !== pgid) continue;
    found = true;
    user += stat.utime + stat.cutime;
    system += stat.stime + stat.cstime;
    rss += stat.rss;
  }
  if (!found) return undefined;
  return {
    userSeconds: user / TICKS_PER_SECOND,
    systemSeconds: system / TICKS_PER_SECOND,
    rssBytes: rss * PAGE_BYTES,
  };
}

/** Process groups of the live processes that have `arg` as one of their arguments. */
export async function groupsNaming(arg: string): Promise<number[]> {
  const groups = new Set<number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
      if (!argv.includes(arg)) continue;
    } catch {
      continue; // gone meanwhile
    }
    const stat = await procStat(Number(entry.name));
    if (stat) groups.add(stat.pgrp);
  }
  return [...groups];
}

/** Sends a signal to a whole process group; a group already gone is not an error. */
export function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Polls until the group has no live process or `ms` pass; says whether it is gone. */
export async function waitGroupGone(pgid: number, ms: number, pollMs = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (true) {
    if (!(await groupAlive(pgid))) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, until - Date.now()))));
  }
}
