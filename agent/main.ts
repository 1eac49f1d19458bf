/** `deno task agent --master URL ...`: parses the flags and starts an agent. */
import { parseAgentFlags, USAGE } from "./flags.ts";
import { startAgent } from "./start_agent.ts";

let options;
try {
  options = parseAgentFlags(Deno.args);
} catch (e) {
  console.error(`${e instanceof Error ? e.message : e}\nusage: ${USAGE}`);
  Deno.exit(2);
}
const running = await startAgent(options);
const shutdown = async () => {
  await running.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
