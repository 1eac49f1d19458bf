/**
 * Runs every real Marathon app definition in /work/shared/examples/marathon-apps/ through the
 * app parser and checks it is accepted or rejected as INDEX.md says Marathon 1.10 does.
 */
import assert from "node:assert/strict";
import { type AppCheck, checkApp } from "../frameworks/marathon/app/parse.ts";
import { TaskInfoSchema } from "../protocol/mod.ts";
import { hostPortRequests, toTaskInfo } from "../frameworks/marathon/app/mod.ts";
import { withApi } from "../frameworks/marathon/api/testing.ts";
import { allApps, checkGroup } from "../frameworks/marathon/app/group.ts";
import { importSecretsKey } from "../frameworks/marathon/secrets/secret_store.ts";

const DIR = new URL("../../shared/examples/marathon-apps/", import.meta.url);
const SAMPLES_DIR = await findSamplesDir();

async function findSamplesDir(): Promise<string | undefined> {
  for (const candidate of [DIR.pathname, "/work/shared/examples/marathon-apps/"]) {
    try {
      await Deno.stat(`${candidate}INDEX.md`);
      return candidate;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/** The expected rejection of each INVALID sample: Marathon's message, path and error text. */
const REJECTIONS: Record<string, { message: string; path: string; error: string }> = {
  "mesosphere__marathon__unittest-INVALID-docker-user-net-ipaddress-discovery.json": {
    message: "Object is not valid",
    path: "/ipAddress",
    error: "ipAddress/discovery is not allowed for Docker containers",
  },
  "mesosphere__marathon__unittest-INVALID-id-not-string.json": {
    message: "Invalid JSON",
    path: "/id",
    error: "error.expected.jsstring",
  },
  "mesosphere__marathon__unittest-INVALID-mesos-container-docker-network.json": {
    message: "Object is not valid",
    path: "/container/docker/network",
    error: "must be empty",
  },
  "mesosphere__marathon__unittest-INVALID-root-id.json": {
    message: "Object is not valid",
    path: "/id",
    error: "Path must contain at least one path element",
  },
};

function indexRows(index: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of index.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const file = cells[2];
    const validity = cells[5];
    if (file?.endsWith(".json") && validity !== undefined) rows.set(file, validity);
  }
  return rows;
}

/** Checks a sample the way Marathon would receive it: app, array of apps, group or response. */
function checkSample(body: unknown): AppCheck[] {
  if (Array.isArray(body)) return body.map((a) => checkApp(a));
  if (typeof body === "object" && body !== null && "apps" in body) {
    if (!("id" in body)) {
      const apps = (body as { apps: unknown[] }).apps;
      return apps.map((a) => checkApp(a));
    }
    const g = checkGroup(body);
    if (!g.ok) return [g];
    const apps = allApps(g.group);
    assert.ok(apps.length > 0, "a group sample must hold apps");
    return apps.map((app) => ({ ok: true, app }));
  }
  return [checkApp(body)];
}

Deno.test({
  name: "Marathon samples: every sample is accepted or rejected as INDEX.md says",
  ignore: SAMPLES_DIR === undefined,
  fn: async (t) => {
    const dir = SAMPLES_DIR!;
    const rows = indexRows(await Deno.readTextFile(`${dir}INDEX.md`));
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"))
      .sort();
    assert.ok(files.length >= 30, `expected the sample corpus, found ${files.length} files`);
    for (const file of files) {
      await t.step(file, async () => {
        const validity = rows.get(file);
        assert.ok(validity !== undefined, `${file} is not listed in INDEX.md`);
        const results = checkSample(JSON.parse(await Deno.readTextFile(`${dir}${file}`)));
        if (validity.startsWith("X")) {
          const want = REJECTIONS[file];
          assert.ok(want, `no expected rejection recorded for ${file}`);
          const r = results[0]!;
          assert.equal(r.ok, false, `${file} must be rejected`);
          if (r.ok) return;
          assert.equal(r.message, want.message);
          const detail = r.details.find((d) => d.path === want.path);
          assert.ok(detail, `${file}: no error at ${want.path}: ${JSON.stringify(r.details)}`);
          assert.ok(
            detail.errors.some((e) => e.includes(want.error)),
            `${file}: ${JSON.stringify(detail.errors)} lacks "${want.error}"`,
          );
        } else {
          for (const r of results) {
            assert.ok(r.ok, `${file} must be accepted: ${JSON.stringify(r.ok ? "" : r.details)}`);
            if (!r.ok) continue;
            const hostPorts = hostPortRequests(r.app).map((p, i) => p || 31000 + i);
            const values = new Map(declaredSources(r.app).map((p) => [p, PULL_CONFIG]));
            const info = toTaskInfo(r.app, "x.instance-1", {
              agentId: "a1",
              hostname: "h1",
              resources: [],
              hostPorts,
            }, values);
            TaskInfoSchema.parse(info);
          }
        }
      });
    }
  },
});

/** The sources of the secrets an app, an array of apps or a group declares (`/pullconfig`). */
function declaredSources(body: unknown): string[] {
  const apps: unknown[] = Array.isArray(body)
    ? body
    : typeof body === "object" && body !== null && "apps" in body && Array.isArray(body.apps)
    ? body.apps
    : [body];
  return apps.flatMap((app) => {
    const secrets = typeof app === "object" && app !== null && "secrets" in app
      ? app.secrets
      : undefined;
    if (typeof secrets !== "object" || secrets === null) return [];
    return Object.values(secrets).flatMap((s) =>
      typeof s === "object" && s !== null && "source" in s && typeof s.source === "string"
        ? [s.source]
        : []
    );
  });
}

/**
 * Whether a sample holds a resident app (persistent volumes): Marathon 1.9+ takes those only
 * when it registers with a role other than `*`, as DC/OS' Marathon does (`slave_public`).
 */
function hasPersistentVolumes(body: unknown): boolean {
  return JSON.stringify(body).includes('"persistent":');
}

const secretsKey = await importSecretsKey("cd".repeat(32));
/** The value of every secret a sample declares: a Docker config (what `/pullconfig` holds). */
const PULL_CONFIG = '{"auths": {"registry.example.com": {"auth": "dTpw"}}}';

Deno.test({
  name: "Marathon samples: each submission gets Marathon's status from the REST API",
  ignore: SAMPLES_DIR === undefined,
  fn: async (t) => {
    const dir = SAMPLES_DIR!;
    const rows = indexRows(await Deno.readTextFile(`${dir}INDEX.md`));
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"))
      .sort();
    for (const file of files) {
      const text = await Deno.readTextFile(`${dir}${file}`);
      const body = JSON.parse(text);
      const validity = rows.get(file) ?? "";
      if (validity.startsWith("response")) continue;
      await t.step(file, () =>
        withApi(async ({ request }) => {
          // As on DC/OS: the secrets a sample declares exist before it is submitted.
          for (const source of declaredSources(body)) {
            const put = await request(`/v2/secrets${source}`, {
              method: "PUT",
              json: { value: PULL_CONFIG },
            });
            assert.equal(put.status, 201, await put.text());
          }
          const [path, method, created] = Array.isArray(body)
            ? ["/v2/apps", "PUT", 200]
            : "apps" in body
            ? ["/v2/groups", "POST", 201]
            : ["/v2/apps", "POST", 201];
          const res = await request(`${path}?force=true`, {
            method,
            body: text,
            headers: { "content-type": "application/json" },
          });
          const answer = await res.json();
          if (validity.startsWith("X")) {
            const want = REJECTIONS[file]!;
            assert.equal(res.status, 422, JSON.stringify(answer));
            assert.equal(answer.message, want.message);
            assert.ok(
              answer.details.some((d: { path: string; errors: string[] }) =>
                d.path === want.path && d.errors.some((e) => e.includes(want.error))
              ),
              JSON.stringify(answer),
            );
          } else {
            assert.equal(res.status, created, JSON.stringify(answer));
            assert.ok(res.headers.get("marathon-deployment-id"));
          }
        }, { secretsKey, ...(hasPersistentVolumes(body) ? { role: "slave_public" } : {}) }));
    }
  },
});
