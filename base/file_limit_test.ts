import assert from "node:assert/strict";
import { agentFilesWarning, fileLimitWarning, openFilesLimit } from "./file_limit.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 1024                 files
`;

Deno.test("openFilesLimit() reads Max open files from /proc/self/limits", () => {
  assert.equal(openFilesLimit(LIMITS), 1024);
  assert.equal(openFilesLimit(LIMITS.replace(/1024 {17}1024/, "unlimited unlimited")), Infinity);
  assert.equal(openFilesLimit("nothing"), undefined);
  if (Deno.build.os === "linux") assert.ok((openFilesLimit() ?? 0) > 0);
});

Deno.test("fileLimitWarning() names a low limit and the remedy; says nothing of a high one", () => {
  assert.match(fileLimitWarning(1024)!, /Open files are limited to 1024: .*LimitNOFILE=65536/);
  assert.equal(fileLimitWarning(1_048_576), undefined);
  assert.equal(fileLimitWarning(undefined), undefined);
});

Deno.test("agentFilesWarning() speaks once agents leave too few spare files", () => {
  assert.equal(agentFilesWarning(10_000, 20_000), undefined);
  assert.match(
    agentFilesWarning(16_000, 20_000)!,
    /16000 agents are connected.*limit of 20000 leaves fewer than 4096/,
  );
  assert.equal(agentFilesWarning(16_000, undefined), undefined);
});
