import assert from "node:assert/strict";
import { LIMITS } from "../../../base/mod.ts";
import { post, withApi } from "./testing.ts";

const put = (json: unknown) => ({ method: "PUT", json });

async function status(res: Promise<Response>): Promise<{ status: number; body: string }> {
  const r = await res;
  return { status: r.status, body: await r.text() };
}

Deno.test("PUT /v2/groups with an id above the root is refused naming /id, and deletes nothing", async () => {
  await withApi(async ({ request, store }) => {
    assert.equal((await request("/v2/apps", post({ id: "/shop/web", cmd: "serve" }))).status, 201);
    const r = await status(request("/v2/groups?force=true", put({ id: "../../x" })));
    assert.equal(r.status, 422);
    assert.match(r.body, /"\/id"/);
    assert.match(r.body, /above the root/);
    assert.deepEqual((await store.listApps()).map((a) => a.id), ["/shop/web"]);
    // A body id resolves against the URL's group, as Marathon's canonicalPath.
    const ok = await request("/v2/groups/shop?force=true", put({ id: "db", apps: [] }));
    assert.equal(ok.status, 200);
    assert.deepEqual((await store.listApps()).map((a) => a.id), ["/shop/web"]);
  });
});

Deno.test("Marathon refuses an app depending on itself, 1e308 instances and absurd resources", async () => {
  await withApi(async ({ request }) => {
    const self = await status(
      request("/v2/apps", post({ id: "/s", cmd: "serve", dependencies: ["/s"] })),
    );
    assert.equal(self.status, 422);
    assert.match(self.body, /depend on itself/);
    const many = await status(
      request("/v2/apps", post({ id: "/m", cmd: "serve", instances: 1e308 })),
    );
    assert.equal(many.status, 422);
    const inf = await status(
      request("/v2/apps", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"id":"/i","cmd":"serve","mem":1e400}',
      }),
    );
    assert.equal(inf.status, 400);
    const mem = await status(request("/v2/apps", post({ id: "/big", cmd: "serve", mem: 1e300 })));
    assert.equal(mem.status, 422);
    assert.match(mem.body, /\/mem/);
  });
});

Deno.test("Marathon refuses LIKE patterns that backtrack exponentially, and keeps safe ones", async () => {
  await withApi(async ({ request }) => {
    for (const pattern of ["(a+)+$", "(a|aa)*b", "(x*)*", "(a)\\1", "a*a*a*a*b"]) {
      const r = await status(
        request(
          "/v2/apps",
          post({ id: "/re", cmd: "serve", constraints: [["host", "LIKE", pattern]] }),
        ),
      );
      assert.equal(r.status, 422, pattern);
      assert.match(r.body, /constraints\(0\)/);
    }
    const ok = await request(
      "/v2/apps",
      post({ id: "/re", cmd: "serve", constraints: [["rack", "LIKE", "rack-[0-9]+|edge"]] }),
    );
    assert.equal(ok.status, 201);
  });
});

Deno.test("an app cannot claim the virtual host of an app in another group; a sibling may share it", async () => {
  await withApi(async ({ request }) => {
    const labels = { HAPROXY_0_VHOST: "shop.example" };
    assert.equal(
      (await request("/v2/apps", post({ id: "/shop/blue", cmd: "serve", labels }))).status,
      201,
    );
    assert.equal(
      (await request("/v2/apps", post({ id: "/shop/green", cmd: "serve", labels }))).status,
      201,
    );
    const stolen = await status(
      request(
        "/v2/apps",
        post({ id: "/evil/x", cmd: "serve", labels: { TENDER_VHOST: "Shop.Example" } }),
      ),
    );
    assert.equal(stolen.status, 422);
    assert.match(stolen.body, /'shop\.example' is served by app '\/shop\/(blue|green)'/);
  });
});

Deno.test("Marathon answers 4xx, not 500, to deep JSON, a 100 KB command, big bodies and malformed URIs", async () => {
  await withApi(async ({ request }) => {
    const deep = await status(request("/v2/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"id":"/d","cmd":"x","labels":' + '{"a":'.repeat(50_000) + "1" + "}".repeat(50_001),
    }));
    assert.equal(deep.status, 400);
    const cmd = await status(request("/v2/apps", post({ id: "/big", cmd: "x".repeat(100_000) })));
    assert.equal(cmd.status, 413);
    assert.match(cmd.body, /too large to store/);
    const body = await status(request("/v2/apps", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: " ".repeat(LIMITS.bodyBytes + 1),
    }));
    assert.equal(body.status, 413);
    for (
      const path of ["/v2/apps/a/versions/%E0%A4%A", "/v2/groups/%E0%A4%A", "/v2/apps/%E0%A4%A"]
    ) {
      const r = await request(path);
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
      await r.body?.cancel();
    }
    assert.equal((await request("/ping")).status, 200);
  });
});

Deno.test("Marathon over a socket refuses /v2/groups/../../etc sent as it is (no normalising client)", async () => {
  await withApi(async ({ fetch }) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, fetch);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      const body = '{"apps":[{"id":"web","cmd":"serve"}]}';
      await conn.write(
        new TextEncoder().encode(
          `POST /v2/groups/../../etc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assert.match(answer, /^HTTP\/1\.1 400/);
      assert.match(answer, /'\.\.' segment/);
    } finally {
      await server.shutdown();
    }
  });
});
