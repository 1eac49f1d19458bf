/**
 * The `tender` command line: `deno task tender ...`, or installed with
 * `deno install -g -A --unstable-kv --config deno.json -n tender cli/main.ts` (from the repo).
 */
import { processIo } from "./io.ts";
import { runCli } from "./run.ts";

const interrupt = new AbortController();
Deno.addSignalListener("SIGINT", () => interrupt.abort());
const code = await runCli(Deno.args, processIo(interrupt.signal));
Deno.exit(code);
