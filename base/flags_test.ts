import assert from "node:assert/strict";
import { mastersFlag, parseFlags, portFlag, secondsFlag } from "./flags.ts";

Deno.test("parseFlags() types and defaults the flags it is given", () => {
  const flags = parseFlags("usage", {
    port: { type: "string", default: "5050" },
    quiet: { type: "boolean" },
  }, ["--quiet"]);
  assert.equal(flags.port, "5050");
  assert.equal(flags.quiet, true);
});

Deno.test("portFlag() and secondsFlag() read good values", () => {
  assert.equal(portFlag("port", "0", { usage: "" }), 0);
  assert.equal(portFlag("dns-port", "off", { usage: "", allowOff: true }), undefined);
  assert.equal(secondsFlag("t", "1.5", { usage: "", fallback: 9 }), 1500);
  assert.equal(secondsFlag("t", undefined, { usage: "", fallback: 9 }), 9);
});

Deno.test("a bad flag exits 2 with a message naming it and the usage", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "master/main.ts", "--dns-port", "seven"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /--dns-port must be a port number or "off", got "seven"/);
  assert.match(err, /^Usage: deno task master/m);
});

Deno.test("mastersFlag() reads one master or a list", () => {
  assert.equal(mastersFlag("m1:5050", { usage: "" }).text, "http://m1:5050");
  assert.deepEqual(mastersFlag("http://m1:5050,m2:5050", { usage: "" }).candidates, [
    "http://m1:5050",
    "http://m2:5050",
  ]);
});

Deno.test("a bad --master exits 2 naming the entry", async () => {
  const run = async (master: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", "router/main.ts", "--master", master],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, err: new TextDecoder().decode(out.stderr) };
  };
  const bad = await run("http://m1:5050,ftp://m2");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /invalid --master: Invalid master "ftp:\/\/m2"/);
  assert.match(bad.err, /^usage: deno task router --master URL\[,URL\.\.\.\]/m);
});
