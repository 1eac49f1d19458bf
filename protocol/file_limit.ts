/**
 * The open-files limit, which bounds the connections a server holds: `Deno.serve` has no header
 * read timeout, and when `accept` fails for want of a descriptor it stops serving for good and the
 * process exits. Deno raises its soft limit to the hard one at start, so the hard one counts.
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
  return `Open files are limited to ${limit}: about that many idle or half-sent connections ` +
    `stop this server (Deno.serve ends when accept fails); raise the hard limit ` +
    `(ulimit -Hn; LimitNOFILE=65536 in a systemd unit)`;
}
