import assert from "node:assert/strict";
import { currentUserName } from "./current_user.ts";

Deno.test("currentUserName() names this process's uid, not $USER", async () => {
  const self = new TextDecoder().decode(
    (await new Deno.Command("id", { args: ["-un"], stdout: "piped" }).output()).stdout,
  ).trim();
  assert.equal(currentUserName(), self);
  if (Deno.uid() !== 0) return;
  // A process of another user without $USER is that user, never root.
  const script = `import { currentUserName } from ${
    JSON.stringify(import.meta.resolve("./current_user.ts"))
  };
console.log(currentUserName());`;
  const denoDir = await Deno.makeTempDir({ prefix: "tender-deno-dir-" });
  await Deno.chown(denoDir, 65534, 65534);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    uid: 65534,
    gid: 65534,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DENO_DIR: denoDir },
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(denoDir, { recursive: true }));
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "nobody",
    new TextDecoder().decode(out.stderr),
  );
});
