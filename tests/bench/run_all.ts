/**
 * `deno task bench`: runs each benchmark in turn, as its own process, and passes its
 * `metric value unit` lines through. Those that need Docker or a peer skip themselves when it
 * is missing. The 1 GiB registry run (`tests/bench/registry_big_blob.ts`) is left out: run it
 * alone, it takes minutes. So is the control plane over the wire (`tests/bench/scale_wire.ts`: a
 * master, `deno task sim` with 1,000 agents and 10,000 tasks, about a minute and 1.5 GiB; the
 * issue's size is `--agents 10000 --tasks 100000`).
 */
const SCRIPTS: [string, string, ...string[]][] = [
  ["run", "tests/bench/master_core.ts"],
  ["bench", "master/allocator/allocator_bench.ts"],
  ["run", "tests/bench/agent_simulated.ts"],
  ["run", "tests/bench/docker_launch.ts"],
  ["run", "tests/bench/marathon_launch.ts"],
  ["run", "tests/bench/containerd_launch.ts"],
  ["run", "tests/bench/registry_throughput.ts"],
  ["run", "tests/bench/router_latency.ts"],
  ["run", "tests/bench/master_ha.ts"],
  ["run", "tests/bench/marathon_failover.ts"],
  ["run", "tests/bench/security_overhead.ts"],
  ["run", "tests/bench/dns_codec.ts"],
  ["run", "tests/bench/prometheus_exposition.ts"],
  ["run", "tests/bench/large_state.ts"],
  ["run", "tests/bench/jobs_start.ts"],
];

for (const [mode, script, ...rest] of SCRIPTS) {
  console.log(`# ${script}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [mode, "-A", "--unstable-kv", script, ...rest],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) console.log(`# ${script} exited with ${code}`);
}
