/**
 * Secrets stay secret (issue 15, item 4): a master process with a credentials file (a clear
 * secret, a hashed one, a bearer token), all switches on, logging at debug, and its registry;
 * calls that fail (wrong secret, wrong token, garbage headers, a SUBSCRIBE with a bad secret)
 * and calls that succeed. No secret or token, nor a Basic header carrying one, appears in the
 * master's stdout/stderr, `/master/state`, the master's or the registry's `/metrics`.
 */
import assert from "node:assert/strict";
import { basicHeader, hashPassword, newToken } from "../security/mod.ts";
import { freePort, TenderProcess, waitFor } from "./support/cluster.ts";

const CLEAR = "clear-secret-5be1d0a9";
const HASHED = "hashed-secret-77c3e412";
const WRONG = "wrong-secret-a0c9f1e3";
const WRONG_TOKEN = "tdr_wrong-token-value-0f3a77";

Deno.test("no secret or token in a secured master's output, /master/state or /metrics, whatever the calls", async () => {
  const root = await Deno.makeTempDir({ prefix: "tender-secrets-" });
  const token = newToken("ci");
  await Deno.writeTextFile(
    `${root}/credentials.json`,
    JSON.stringify({
      credentials: [
        { principal: "ops", secret: CLEAR },
        { principal: "framework", secret: hashPassword(HASHED, 1000) },
      ],
      tokens: [token.entry],
    }),
  );
  const port = freePort(), registryPort = freePort();
  const master = new TenderProcess("master", "master/main.ts", [
    "--port",
    String(port),
    "--work-dir",
    `${root}/master`,
    "--dns-port",
    "off",
    "--registry-port",
    String(registryPort),
    "--credentials",
    `${root}/credentials.json`,
    "--authenticate-frameworks",
    "--authenticate-agents",
    "--authenticate-http-readwrite",
    "--authenticate-http-readonly",
    "--log-level",
    "debug",
  ]);
  const url = `http://127.0.0.1:${port}`;
  const registry = `http://127.0.0.1:${registryPort}`;
  const ops = { Authorization: basicHeader("ops", CLEAR) };
  const call = async (path: string, init: RequestInit = {}, base = url) => {
    const r = await fetch(`${base}${path}`, init);
    return { status: r.status, text: await r.text() };
  };
  try {
    master.start();
    await waitFor(
      "the master",
      async () => (await call("/health").catch(() => undefined))?.status === 200,
      60_000,
    );
    await waitFor(
      "its registry",
      async () => (await call("/v2/", {}, registry).catch(() => undefined)) !== undefined,
      60_000,
    );

    const failing: [string, RequestInit][] = [
      ["/master/state", { headers: { Authorization: basicHeader("ops", WRONG) } }],
      ["/master/state", { headers: { Authorization: basicHeader("framework", CLEAR) } }],
      ["/master/state", { headers: { Authorization: `Bearer ${WRONG_TOKEN}` } }],
      ["/master/state", { headers: { Authorization: `Basic ${WRONG}` } }],
      ["/master/state", { headers: { Authorization: `Digest ${WRONG}` } }],
      ["/api/v1/scheduler", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: basicHeader("framework", WRONG),
        },
        body: JSON.stringify({
          type: "SUBSCRIBE",
          subscribe: { framework_info: { user: "root", name: "x", principal: "framework" } },
        }),
      }],
      ["/api/v1", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: basicHeader("ops", WRONG) },
        body: JSON.stringify({ type: "GET_HEALTH" }),
      }],
    ];
    for (const [path, init] of failing) {
      const r = await call(path, init);
      assert.equal(r.status, 401, `${path}: ${r.text}`);
      for (const secret of [CLEAR, HASHED, WRONG, WRONG_TOKEN, token.token]) {
        assert.ok(!r.text.includes(secret), `${path} answered with a secret: ${r.text}`);
      }
    }
    assert.equal((await call("/master/state", { headers: ops })).status, 200);
    assert.equal(
      (await call("/master/state", { headers: { Authorization: `Bearer ${token.token}` } })).status,
      200,
    );
    assert.equal(
      (await call("/master/state", {
        headers: { Authorization: basicHeader("framework", HASHED) },
      }))
        .status,
      200,
    );
    // The registry beside it: a wrong secret, a good one, a token of the file.
    assert.equal(
      (await call("/v2/", { headers: { Authorization: basicHeader("ops", WRONG) } }, registry))
        .status,
      401,
    );
    assert.equal((await call("/v2/", { headers: ops }, registry)).status, 200);
    const issued = await call("/auth/token?service=tender-registry&scope=repository:x:pull", {
      headers: ops,
    }, registry);
    assert.equal(issued.status, 200);

    const seen = {
      state: (await call("/master/state", { headers: ops })).text,
      metrics: (await call("/metrics", { headers: ops })).text,
      registryMetrics: (await call("/metrics", {}, registry)).text,
    };
    await master.kill("SIGTERM");
    const output = master.log.join("");
    assert.match(output, /master listening/);
    for (const [where, text] of Object.entries({ ...seen, output })) {
      for (const secret of [CLEAR, HASHED, WRONG, WRONG_TOKEN, token.token]) {
        assert.ok(!text.includes(secret), `a secret in ${where}`);
      }
      for (const header of [basicHeader("ops", CLEAR), basicHeader("ops", WRONG)]) {
        assert.ok(!text.includes(header.slice(6)), `a Basic credential in ${where}`);
      }
    }
    assert.match(seen.metrics, /tender_http_unauthenticated_total [1-9]/);
  } finally {
    await master.kill("SIGKILL");
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
