/**
 * Command-line plumbing shared by the `main.ts` files: parse the flags or exit 2 with the
 * usage, `--help` prints it and exits 0, and port flags are checked the same way everywhere.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { createLogger, type Logger, resolveLogLevel } from "./log.ts";
import { Masters, type MastersDeps } from "./masters.ts";

/** Prints the problem and the usage to stderr, and exits 2 (a usage error). */
export function usageError(message: string, usage: string): never {
  console.error(`${message}\n${usage}`);
  Deno.exit(2);
}

type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>["values"];

/** Parses `args` by `options` (declare `help` to get `--help`), exiting on bad flags or after the help. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  usage: string,
  options: O,
  args: string[] = Deno.args,
): Parsed<O> {
  let values: Parsed<O>;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    usageError((e as Error).message, usage);
  }
  if (args.includes("--help")) {
    console.log(usage);
    Deno.exit(0);
  }
  return values;
}

/** A port flag's value as a number, or exit 2 naming the flag. `off` gives undefined when allowed. */
export function portFlag(
  name: string,
  value: string | undefined,
  options: { usage: string; allowOff?: boolean },
): number | undefined {
  if (value === undefined || (options.allowOff && value === "off")) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    usageError(
      `--${name} must be a port number${options.allowOff ? ' or "off"' : ""}, got "${value}"`,
      options.usage,
    );
  }
  return port;
}

/** A JSON logger at the level of `--log-level`, else `TENDER_LOG_LEVEL`, else warn; exit 2 if unknown. */
export function loggerFlag(component: string, level: string | undefined, usage: string): Logger {
  try {
    return createLogger({
      level: resolveLogLevel(level, Deno.env.get("TENDER_LOG_LEVEL")),
      component,
    });
  } catch (e) {
    usageError((e as Error).message, usage);
  }
}

/** A duration flag in seconds, as milliseconds; `fallback` (ms) when absent; exit 2 if bad. */
export function secondsFlag(
  name: string,
  value: string | undefined,
  options: { usage: string; fallback: number },
): number {
  if (value === undefined) return options.fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    usageError(`--${name} must be a number of seconds, got "${value}"`, options.usage);
  }
  return n * 1000;
}

/** A flag naming an HTTP(S) base URL, without a trailing slash; exit 2 naming the flag if bad. */
export function urlFlag(
  name: string,
  value: string | undefined,
  options: { usage: string },
): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch { /* reported below */ }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    usageError(
      `--${name} must be an http(s) URL such as http://HOST:PORT, got "${value}"`,
      options.usage,
    );
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * `--master`: one master URL, a comma-separated list, or an etcd election (read through
 * `deps.etcd`, where the process hands one in), as `Masters`; exit 2 if missing or bad.
 */
export function mastersFlag(
  value: string | undefined,
  options: { usage: string; deps?: MastersDeps },
): Masters {
  if (!value) usageError("--master is required", options.usage);
  try {
    return new Masters(value, options.deps);
  } catch (e) {
    usageError(`invalid --master: ${e instanceof Error ? e.message : e}`, options.usage);
  }
}
