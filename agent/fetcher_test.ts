import assert from "node:assert/strict";
import { fetchedName, Fetcher } from "./fetcher.ts";
import { tarListing } from "./fetcher_extract.ts";

/** A directory with a file, a tarball of it, an archive escaping its directory, and a zip. */
async function fixtures(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tender-fetch-src-" });
  await Deno.writeTextFile(`${dir}/hello.txt`, "hello from the fetcher\n");
  await Deno.mkdir(`${dir}/app`);
  await Deno.writeTextFile(`${dir}/app/run.sh`, "#!/bin/sh\necho run\n");
  const tar = async (args: string[]) => {
    const out = await new Deno.Command("tar", { args, cwd: dir, stderr: "null" }).output();
    assert.ok(out.success, `tar ${args.join(" ")}`);
  };
  await tar(["-czf", "app.tar.gz", "app"]);
  await tar(["-czPf", "evil.tgz", "--transform", "s,^,../,", "hello.txt"]);
  // zip comes with .ci/run's packages: without it the zip case would pass untested.
  const zip = await new Deno.Command("zip", { args: ["-qr", "app.zip", "app"], cwd: dir }).output();
  assert.ok(zip.success, "zip -qr app.zip app");
  return dir;
}

/** Serves `dir` on 127.0.0.1, counting requests per path; `/slow` never finishes. */
function serve(dir: string) {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === "/moved") return Response.redirect(new URL("/hello.txt", req.url), 302);
    if (path === "/private.txt") {
      return req.headers.get("authorization") === `Basic ${btoa("user:s3cr et")}`
        ? new Response("private\n")
        : new Response("who are you", { status: 401 });
    }
    if (path === "/slow") {
      return new Response(new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(10)) }));
    }
    try {
      return new Response(await Deno.readFile(`${dir}${path}`));
    } catch {
      return new Response("no such file", { status: 404 });
    }
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { base, hits, close: () => server.shutdown() };
}

async function withWorld(
  fn: (
    w: { src: string; base: string; hits: Map<string, number>; sandbox: string; cache: string },
  ) => Promise<void>,
) {
  const src = await fixtures();
  const http = serve(src);
  const work = await Deno.makeTempDir({ prefix: "tender-fetch-work-" });
  const sandbox = `${work}/sandbox`;
  await Deno.mkdir(sandbox);
  try {
    await fn({ src, base: http.base, hits: http.hits, sandbox, cache: `${work}/cache` });
  } finally {
    await http.close();
    await Deno.remove(src, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("Fetcher.fetchAll() downloads files, marks executables and extracts archives into the sandbox", async () => {
  await withWorld(async ({ base, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache });
    await fetcher.fetchAll({
      taskId: "t",
      sandbox,
      reader: "agent",
      uris: [
        { value: `${base}/hello.txt` },
        { value: `${base}/app/run.sh`, executable: true },
        { value: `${base}/app.tar.gz` },
        { value: `${base}/moved`, output_file: "sub/renamed.txt" },
      ],
    });
    assert.equal(await Deno.readTextFile(`${sandbox}/hello.txt`), "hello from the fetcher\n");
    assert.equal((await Deno.stat(`${sandbox}/run.sh`)).mode! & 0o777, 0o755);
    assert.equal(await Deno.readTextFile(`${sandbox}/app/run.sh`), "#!/bin/sh\necho run\n");
    assert.ok((await Deno.stat(`${sandbox}/app.tar.gz`)).isFile, "the archive stays, as in Mesos");
    assert.equal(await Deno.readTextFile(`${sandbox}/sub/renamed.txt`), "hello from the fetcher\n");
    assert.equal(fetcher.counters().fetched, 4);
  });
});

Deno.test("Fetcher.fetchAll() keeps an archive whole when extract is false, and extracts zips", async () => {
  await withWorld(async ({ base, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache });
    await fetcher.fetchAll({
      taskId: "t",
      sandbox,
      reader: "agent",
      uris: [{ value: `${base}/app.tar.gz`, extract: false }],
    });
    assert.equal(await Deno.stat(`${sandbox}/app`).catch(() => undefined), undefined);
    await fetcher.fetchAll({
      taskId: "t",
      sandbox,
      reader: "agent",
      uris: [{ value: `${base}/app.zip` }],
    });
    assert.equal(await Deno.readTextFile(`${sandbox}/app/run.sh`), "#!/bin/sh\necho run\n");
  });
});

Deno.test("Fetcher.fetchAll() serves a cached URI from its cache and counts the hit", async () => {
  await withWorld(async ({ base, hits, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache });
    const other = `${sandbox}-2`;
    await Deno.mkdir(other);
    for (const dir of [sandbox, other]) {
      await fetcher.fetchAll({
        taskId: "t",
        sandbox: dir,
        reader: "agent",
        uris: [{ value: `${base}/app.tar.gz`, cache: true }],
      });
      assert.equal(await Deno.readTextFile(`${dir}/app/run.sh`), "#!/bin/sh\necho run\n");
    }
    assert.equal(hits.get("/app.tar.gz"), 1, "the second task's copy came from the cache");
    assert.deepEqual(fetcher.counters(), { fetched: 2, cacheHits: 1, cacheMisses: 1, failures: 0 });
  });
});

Deno.test("Fetcher evicts the least recently used cache entries past its size", async () => {
  await withWorld(async ({ base, hits, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache, cacheBytes: 40 });
    const get = (path: string) =>
      fetcher.fetchAll({
        taskId: "t",
        sandbox,
        reader: "agent",
        uris: [{ value: `${base}${path}`, cache: true }],
      });
    await get("/hello.txt"); // 23 bytes
    await get("/app/run.sh"); // 20 bytes: the cache would hold 43, so hello.txt goes
    await get("/hello.txt");
    assert.equal(hits.get("/hello.txt"), 2, "evicted, so fetched again");
    assert.ok(
      [...Deno.readDirSync(cache)].length <= 1,
      "the cache stays within its size",
    );
  });
});

Deno.test("Fetcher.fetchAll() fails naming the URI and the cause", async () => {
  await withWorld(async ({ base, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache, maxBytes: 10, timeoutMs: 60_000 });
    const failure = async (
      uri: { value: string; output_file?: string },
      reader: "agent" | "others" = "agent",
    ) => {
      const e = await fetcher.fetchAll({ taskId: "web.1", sandbox, reader, uris: [uri] }).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(e, `${uri.value} should fail`);
      return e.message;
    };
    assert.equal(
      await failure({ value: `${base}/missing.tgz` }),
      `Cannot fetch "${base}/missing.tgz" for task "web.1": the server answered 404 Not Found`,
    );
    assert.match(await failure({ value: `${base}/hello.txt` }), /over the limit of 10 bytes/);
    assert.match(await failure({ value: "hdfs://nn/x.tgz" }), /not "hdfs:"/);
    assert.match(
      await failure({ value: "http://127.0.0.1:1/x" }),
      /Cannot fetch "http:\/\/127.0.0.1:1\/x"/,
    );
    assert.match(
      await failure({ value: "https://user:secret@127.0.0.1:1/x" }),
      /user:xxxxx@/,
      "a password in the URI is not shown",
    );
  });
});

Deno.test("Fetcher.fetchAll() refuses names and archive entries that leave the sandbox", async () => {
  await withWorld(async ({ base, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache });
    const refuse = async (
      uri: { value: string; output_file?: string },
    ) => (await fetcher.fetchAll({ taskId: "t", sandbox, reader: "agent", uris: [uri] }).then(
      () => assert.fail(`${uri.value} should be refused`),
      (e: Error) => e.message,
    ));
    assert.match(
      await refuse({ value: `${base}/hello.txt`, output_file: "../../escaped" }),
      /`\.\.` step/,
    );
    assert.match(
      await refuse({ value: `${base}/hello.txt`, output_file: "/etc/escaped" }),
      /absolute path/,
    );
    assert.match(await refuse({ value: `${base}/` }), /give output_file/);
    assert.match(
      await refuse({ value: `${base}/evil.tgz` }),
      /"\.\.\/hello\.txt" has a `\.\.` step/,
    );
    assert.equal(await Deno.stat(`${sandbox}/../hello.txt`).catch(() => undefined), undefined);
    assert.equal(await Deno.stat(`${sandbox}/../escaped`).catch(() => undefined), undefined);
  });
});

Deno.test("Fetcher.fetchAll() copies local files the task's reader may read, and no others", async () => {
  await withWorld(async ({ src, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache });
    await Deno.chmod(src, 0o755); // made 0700: others could not pass
    await Deno.chmod(`${src}/hello.txt`, 0o644);
    await fetcher.fetchAll({
      taskId: "t",
      sandbox,
      reader: "others",
      uris: [{ value: `file://${src}/hello.txt` }, {
        value: `${src}/app.tar.gz`,
        output_file: "copy.tgz",
      }],
    });
    assert.equal(await Deno.readTextFile(`${sandbox}/hello.txt`), "hello from the fetcher\n");
    assert.equal(await Deno.readTextFile(`${sandbox}/app/run.sh`), "#!/bin/sh\necho run\n");
    await Deno.chmod(`${src}/hello.txt`, 0o600);
    await assert.rejects(
      fetcher.fetchAll({
        taskId: "t",
        sandbox,
        reader: "others",
        uris: [{ value: `${src}/hello.txt` }],
      }),
      /not readable by everyone/,
    );
    await assert.rejects(
      fetcher.fetchAll({
        taskId: "t",
        sandbox,
        reader: { uid: 65534, gid: 65534 },
        uris: [{ value: `${src}/hello.txt` }],
      }),
      /not readable by the task's user \(uid 65534\)/,
    );
  });
});

Deno.test("Fetcher.fetchAll() gives up after its timeout, and when its signal aborts", async () => {
  await withWorld(async ({ base, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache, timeoutMs: 300 });
    await assert.rejects(
      fetcher.fetchAll({
        taskId: "t",
        sandbox,
        reader: "agent",
        uris: [{ value: `${base}/slow` }],
      }),
      /timed out after 0.3 s/,
    );
    const killed = new AbortController();
    const patient = new Fetcher({ cacheDir: cache, timeoutMs: 600_000 });
    const pending = patient.fetchAll({
      taskId: "t",
      sandbox,
      reader: "agent",
      uris: [{ value: `${base}/slow`, output_file: "slow2" }],
      signal: killed.signal,
    });
    killed.abort(new Error("the task was killed"));
    await assert.rejects(pending, /the task was killed/);
  });
});

Deno.test("Fetcher.fetchAll() sends a URI's credentials as Basic authentication, as curl does", async () => {
  await withWorld(async ({ base, sandbox, cache }) => {
    const fetcher = new Fetcher({ cacheDir: cache });
    const withCredentials = base.replace("http://", "http://user:s3cr%20et@");
    await fetcher.fetchAll({
      taskId: "t",
      sandbox,
      reader: "agent",
      uris: [{ value: `${withCredentials}/private.txt` }],
    });
    assert.equal(await Deno.readTextFile(`${sandbox}/private.txt`), "private\n");
    await assert.rejects(
      fetcher.fetchAll({
        taskId: "t",
        sandbox,
        reader: "agent",
        uris: [{ value: `${base.replace("http://", "http://user:wrong@")}/private.txt` }],
      }),
      /Cannot fetch "http:\/\/user:xxxxx@127\.0\.0\.1:\d+\/private\.txt" for task "t": the server answered 401/,
    );
  });
});

Deno.test("fetchedName() names a file by its URI's last segment, decoded", () => {
  assert.equal(fetchedName({ value: "https://h/a/b%20c.tgz?x=1" }), "b c.tgz");
  assert.equal(fetchedName({ value: "/opt/app.tar" }), "app.tar");
  assert.equal(fetchedName({ value: "https://h/a", output_file: "./x/y" }), "x/y");
  assert.throws(() => fetchedName({ value: "https://h/a/%2E%2E" }), /no file name/);
});

Deno.test("Fetcher.fetchAll() refuses archives with device nodes or expanding past the limit, and gunzips", async () => {
  await withWorld(async ({ src, base, sandbox, cache }) => {
    // 64 KiB of zeros compress to almost nothing: the limit is on what they expand to.
    await Deno.writeFile(`${src}/zeros`, new Uint8Array(64 * 1024));
    const tar = (args: string[]) =>
      new Deno.Command("tar", { args, cwd: src, stderr: "null" }).output();
    assert.ok((await tar(["-czf", "zeros.tgz", "zeros"])).success);
    assert.ok((await tar(["-cf", "plain.tar", "hello.txt"])).success);
    const gz = await new Deno.Command("gzip", { args: ["-k", "hello.txt"], cwd: src }).output();
    assert.ok(gz.success);
    const fetcher = new Fetcher({ cacheDir: cache, maxBytes: 32 * 1024 });
    const fetchOne = (value: string) =>
      fetcher.fetchAll({ taskId: "t", sandbox, reader: "agent", uris: [{ value }] });
    await assert.rejects(
      fetchOne(`${base}/zeros.tgz`),
      /expands to 65536 bytes, over the limit of 32768 bytes/,
    );
    assert.equal(await Deno.stat(`${sandbox}/zeros`).catch(() => undefined), undefined);
    await fetchOne(`${base}/hello.txt.gz`);
    assert.equal(await Deno.readTextFile(`${sandbox}/hello.txt`), "hello from the fetcher\n");
    await fetchOne(`${base}/plain.tar`);
    const node = await new Deno.Command("mknod", { args: [`${src}/null0`, "c", "1", "3"] }).output()
      .catch(() => undefined);
    if (node?.success) {
      assert.ok((await tar(["-cf", "dev.tar", "null0"])).success);
      await assert.rejects(fetchOne(`${base}/dev.tar`), /holds a device node \(crw/);
      assert.equal(await Deno.lstat(`${sandbox}/null0`).catch(() => undefined), undefined);
    }
  });
});

Deno.test("tarListing() sums sizes and finds device nodes", () => {
  assert.deepEqual(
    tarListing(
      "-rw-r--r-- root/root        23 2026-12-04 15:39 hello.txt\n" +
        "drwxr-xr-x root/root         0 2026-12-04 15:39 app/\n" +
        "-rwxr-xr-x root/root        20 2026-12-04 15:39 app/run sh\n",
    ),
    { bytes: 43 },
  );
  const dev = tarListing("crw-r--r-- root/root       1,3 2026-12-04 15:50 dev0\n");
  assert.match(dev.device ?? "", /^crw/);
});
