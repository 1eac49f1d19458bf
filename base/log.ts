/**
 * Structured logs: one JSON object per line (`{ts, level, component, msg, ...fields}`) on
 * stderr, below-level calls dropped. Quiet by default: the default level is `warn`. The level
 * comes from `--log-level` or `TENDER_LOG_LEVEL`, read only in `main.ts` files.
 */

/** The levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The default level: warnings and errors only. */
export const DEFAULT_LOG_LEVEL: LogLevel = "warn";

/** Extra fields of one line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Writes a line at each level. */
export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether a line at `level` would be written. */
  enabled(level: LogLevel): boolean;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  level?: LogLevel;
  /** `master`, `agent`, `registry`, `router`, `marathon`. */
  component: string;
  /** Takes each line without its line feed (default: stderr). */
  write?: (line: string) => void;
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`${line}\n`));
}

function jsonable(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Whether `text` names a level. */
export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/**
 * The level from a flag value, else an environment value, else `warn`; throws on a name that
 * is not a level.
 */
export function resolveLogLevel(flag: string | undefined, env?: string): LogLevel {
  const text = flag ?? (env === "" ? undefined : env);
  if (text === undefined) return DEFAULT_LOG_LEVEL;
  const lower = text.toLowerCase();
  if (!isLogLevel(lower)) {
    throw new Error(`invalid log level "${text}": use ${LOG_LEVELS.join(", ")}`);
  }
  return lower;
}

/** A logger writing JSON lines at `level` and above. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? DEFAULT_LOG_LEVEL;
  const write = options.write ?? writeStderr;
  const now = options.now ?? Date.now;
  const min = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= min;
  const at = (l: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (!enabled(l)) return;
    const { ts: _t, level: _l, component: _c, msg: _m, ...rest } = fields;
    const record = {
      ts: new Date(now()).toISOString(),
      level: l,
      component: options.component,
      msg,
    };
    write(JSON.stringify({ ...record, ...rest }, jsonable));
  };
  return {
    level,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    enabled,
  };
}
