/** What a subcommand is and what it runs with. */
import type { Api, Service } from "./api.ts";
import type { Io } from "./io.ts";

/** The flags every command may read (parsed once, in `run.ts`). */
export interface Flags {
  json: boolean;
  follow: boolean;
  stderr: boolean;
  all: boolean;
  dryRun: boolean;
  force: boolean;
  /** Watch the deployment a change starts until it is done. */
  wait: boolean;
  timeoutMs?: number;
  /** `logs --app`: every replica of a Marathon app. */
  app?: string;
  tail?: number;
  framework?: string;
  agent?: string;
  state?: string;
}

/** What a command runs with. */
export interface CommandContext {
  io: Io;
  flags: Flags;
  /** Positional arguments after the command's words. */
  args: string[];
  /** Values of the command's own `options`. */
  options: Record<string, string | boolean | undefined>;
  api(service: Service): Api;
  /** Prints `data` as JSON with `--json`, else the human text. */
  output(human: () => string, data: unknown): void;
}

/** One subcommand. */
export interface Command {
  /** The words that select it, e.g. `agents list`. */
  name: string;
  /** Its arguments and flags, for help. */
  usage: string;
  summary: string;
  /** Flags only this command takes (`parseArgs` options); refused after other commands. */
  options?: Record<string, { type: "string" | "boolean" }>;
  run(ctx: CommandContext): Promise<void>;
}
