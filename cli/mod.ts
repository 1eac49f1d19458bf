/**
 * The `tender` CLI as a library: `runCli(argv, io)` runs one command line and resolves to
 * its exit code (0 ok, 1 failed, 2 usage).
 *
 * @module
 * @example
 * ```ts
 * import { processIo, runCli } from "./cli/mod.ts";
 * const code = await runCli(["status", "--json"], processIo(new AbortController().signal));
 * ```
 */
export { COMMANDS, help, runCli } from "./run.ts";
export { type Io, processIo } from "./io.ts";
export { CliError, EXIT } from "./errors.ts";
export { fields, table } from "./table.ts";
