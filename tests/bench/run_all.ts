/**
 * `deno task bench`: runs each benchmark script in turn, as its own process, and passes its
 * `metric value unit` lines through. Scripts that need Docker or other peers say so and skip.
 */
const SCRIPTS = [
  "tests/bench/master_core.ts",
];

for (const script of SCRIPTS) {
  console.log(`# ${script}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", script],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) console.log(`# ${script} exited with ${code}`);
}
