/**
 * `deno task fuzz [--runs N] [--seed S] [--only NAME]`: the fuzz suite, longer than the run in
 * `deno task test` (which sends 500 inputs per open API, 200 per API with security on). `--runs`
 * is per API, open or secure; `--only "security on"` runs the secure targets alone (the master,
 * Marathon, registry, jobs API and router admin over TLS, the agent API in memory, DNS with
 * `--dns-host`), `--only jobs` both jobs targets. Prints inputs, refusals, 5xx, crashes and
 * breaches per API; exits non-zero on any failure, naming the request and the seed to replay it.
 */
import { parseArgs } from "node:util";
import { formatFigures, runFuzz } from "./suite.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5000" },
    seed: { type: "string" },
    only: { type: "string" },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error("usage: deno task fuzz [--runs N] [--seed S] [--only NAME]");
  Deno.exit(2);
}
console.log(`fuzz: ${runs} inputs per API, seed ${seed}`);
try {
  const { figures, strayFiles } = await runFuzz({
    runs,
    seed,
    ...(values.only ? { only: values.only } : {}),
    onTarget: (f) => console.log(formatFigures([f])),
  });
  const violations = figures.flatMap((f) => f.violations);
  if (strayFiles.length > 0 || violations.length > 0) {
    console.error(`files outside the work dirs: ${[...strayFiles, ...violations].join(", ")}`);
    Deno.exit(1);
  }
  console.log(`fuzz: ${figures.reduce((n, f) => n + f.inputs, 0)} inputs, no failure`);
} catch (e) {
  const cause = e instanceof Error && e.cause instanceof Error ? `\n${e.cause.message}` : "";
  console.error(`fuzz failed (seed ${seed}): ${e instanceof Error ? e.message : e}${cause}`);
  Deno.exit(1);
}
