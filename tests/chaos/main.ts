/**
 * `deno task chaos [--seed N] [--faults 100] [--minutes M] [--agent-timeout S] [--log-dir DIR]`:
 * the chaos suite on namespace hosts (needs root, iproute2, iptables and etcd). Prints each
 * fault as it goes, then the figures and, last, `chaos: F faults, V violations` followed by the
 * violations. Exits 1 on any violation, 2 when it cannot run here. Ctrl-C removes everything.
 */
import { parseArgs } from "node:util";
import { hasEtcd } from "../support/etcd_cluster.ts";
import { hostsUnavailable } from "../support/hosts.ts";
import { runChaos } from "./run.ts";

const USAGE = "usage: deno task chaos [--seed N] [--faults 100] [--minutes M] " +
  "[--agent-timeout SECONDS (3)] [--log-dir DIR (test-output/chaos-SEED when violations)]";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string" },
    faults: { type: "string", default: "100" },
    minutes: { type: "string" },
    "agent-timeout": { type: "string", default: "3" },
    "log-dir": { type: "string" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const faults = Number(values.faults);
const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
const agentTimeout = Number(values["agent-timeout"]);
if (
  !Number.isInteger(seed) || !Number.isInteger(faults) || faults < 1 ||
  (minutes !== undefined && !(minutes > 0)) || !(agentTimeout >= 1)
) {
  console.error(USAGE);
  Deno.exit(2);
}
const unavailable = hostsUnavailable() ?? (hasEtcd() ? undefined : "needs etcd");
if (unavailable) {
  console.error(`chaos: cannot run here: ${unavailable}`);
  Deno.exit(2);
}
const result = await runChaos({
  seed,
  faults,
  ...(minutes !== undefined ? { minutes } : {}),
  agentTimeoutSeconds: agentTimeout,
  logDir: values["log-dir"] ?? `test-output/chaos-${seed}`,
});
if (result.violations.length > 0) {
  const logs = values["log-dir"] ?? `test-output/chaos-${seed}`;
  console.log(`replay: deno task chaos --seed ${seed} --faults ${faults}; node logs in ${logs}`);
}
// The summary line comes last, followed only by the violations.
for (const line of result.report) console.log(line);
Deno.exit(result.violations.length > 0 ? 1 : 0);
