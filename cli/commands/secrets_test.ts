import assert from "node:assert/strict";
import type { Io } from "../io.ts";
import { runCli } from "../run.ts";
import { withApi } from "../../frameworks/marathon/api/testing.ts";
import { importSecretsKey } from "../../frameworks/marathon/secrets/secret_store.ts";

Deno.test("tender secrets put|ls|rm drive Marathon's /v2/secrets; the value comes from stdin only", async () => {
  await withApi(async ({ fetch }) => {
    const out: string[] = [], err: string[] = [];
    const io = (stdin?: string): Io => ({
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
      env: (name) => (name === "TENDER_MARATHON" ? "http://marathon.test" : undefined),
      fetch: (input, init) => Promise.resolve(fetch(new Request(String(input), init))),
      signal: new AbortController().signal,
      isTerminal: () => false,
      ...(stdin !== undefined ? { stdin: () => Promise.resolve(stdin) } : {}),
    });
    assert.equal(await runCli(["secrets", "put", "/prod/db"], io("hunter2\n")), 0, err.join(""));
    assert.equal(out.pop(), "Created secret /prod/db.\n");
    assert.equal(await runCli(["secrets", "put", "prod/db"], io("other")), 0, err.join(""));
    assert.equal(out.pop(), "Replaced secret /prod/db.\n");
    assert.equal(await runCli(["secrets"], io()), 0, err.join(""));
    const listed = out.pop() ?? "";
    assert.match(listed, /\/prod\/db/);
    assert.ok(!listed.includes("hunter2") && !listed.includes("other"), listed);
    assert.equal(await runCli(["secrets", "put", "/prod/db", "hunter2"], io("x")), 2);
    assert.equal(await runCli(["secrets", "rm", "/prod/db"], io()), 0, err.join(""));
    assert.equal(out.pop(), "Deleted secret /prod/db.\n");
    assert.equal(await runCli(["secrets", "rm", "/prod/db"], io()), 1);
    assert.match(err.join(""), /Secret '\/prod\/db' does not exist/);
  }, { secretsKey: await importSecretsKey("cd".repeat(32)) });
});
