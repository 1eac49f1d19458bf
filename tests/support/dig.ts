/** `dig`, the DNS client tests query Tender's DNS with; tests that need it are ignored without. */

/** Runs `dig @127.0.0.1 -p PORT +time=2 +tries=1 ARGS…`; its output (stdout then stderr). */
export async function dig(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/** Whether `dig` is installed (Debian: dnsutils). */
export const hasDig: boolean = (() => {
  try {
    return Deno.statSync("/usr/bin/dig").isFile;
  } catch {
    return false;
  }
})();
