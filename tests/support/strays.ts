/**
 * The last word of a test's cleanup: every process whose command line names the test's work
 * dir (task wrappers name their sandbox there) is killed with its process group, whatever the
 * agent's records say — a test must leave no process behind, also when it failed half-way.
 */

/** SIGKILLs the process group of every process whose command line contains `root`. */
export async function killStrays(root: string): Promise<number> {
  let killed = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    let cmdline: string;
    try {
      cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
    } catch {
      continue; // gone meanwhile
    }
    if (!cmdline.includes(root)) continue;
    const pid = Number(entry.name);
    for (const target of [-pid, pid]) {
      try {
        Deno.kill(target, "SIGKILL");
        killed += 1;
        break;
      } catch { /* not a group leader, or gone */ }
    }
  }
  return killed;
}
