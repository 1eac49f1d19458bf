/**
 * The open-files limit, which bounds the connections a server holds. `serveHttp` closes
 * connections that wait too long for a request's headers and keeps at most 256 waiting per client
 * address, and when `accept` fails for want of a descriptor it closes the oldest waiting one and
 * goes on; many clients at once can still use every descriptor. Deno raises its soft limit to the
 * hard one at start, so the hard one counts.
 */

/** Below this many open files a server warns at start (idle connections can use them up). */
export const LOW_FILE_LIMIT = 8192;

/** The limit on open files from `/proc/self/limits` ("Max open files"); undefined elsewhere. */
export function openFilesLimit(limits?: string): number | undefined {
  let text = limits;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/self/limits");
    } catch {
      return undefined;
    }
  }
  const line = text.split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  return soft === "unlimited" ? Infinity : Number(soft) || undefined;
}

/** A warning naming the limit and the remedy when it is low, else undefined. */
export function fileLimitWarning(limit: number | undefined): string | undefined {
  if (limit === undefined || limit >= LOW_FILE_LIMIT) return undefined;
  return `Open files are limited to ${limit}: about that many open connections (from many ` +
    `addresses; one holds at most 256 waiting) leave new ones unanswered until some close; ` +
    `raise the hard limit (ulimit -Hn; LimitNOFILE=65536 in a systemd unit)`;
}

/** Descriptors a master keeps spare beyond its agents' streams (calls, frameworks, the UI). */
export const SPARE_FILES = 4096;

/**
 * A warning when `agents` connected agents leave fewer than `SPARE_FILES` of `limit` open files:
 * each agent holds one stream open at the master, and its calls come on top.
 */
export function agentFilesWarning(agents: number, limit: number | undefined): string | undefined {
  if (limit === undefined || agents + SPARE_FILES <= limit) return undefined;
  return `${agents} agents are connected, each holding a stream (an open file) at this master; ` +
    `its open-files limit of ${limit} leaves fewer than ${SPARE_FILES} for their calls, ` +
    `frameworks and clients, and the master stops when none is left: raise the hard limit ` +
    `(ulimit -Hn; LimitNOFILE= in a systemd unit) above agents + ${SPARE_FILES}`;
}
