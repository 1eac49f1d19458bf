/**
 * `/v2/secrets`: Tender's secret store API (Marathon has none of its own; DC/OS kept secrets in
 * a separate service). `PUT /v2/secrets/{path}` with `{"value": "…"}` stores (201 new, 200
 * replaced), `GET /v2/secrets` lists paths, `GET /v2/secrets/{path}` one path, `DELETE` removes
 * (409 while an app uses it). No answer, error or log line ever holds a value.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { TenderError } from "../../../base/mod.ts";
import { appsUsing } from "../secrets/app_secrets.ts";
import { secretPath, type SecretStore } from "../secrets/secret_store.ts";
import type { MarathonService } from "../service/marathon_service.ts";
import type { RequestAccess } from "./auth.ts";

const PutBodySchema = z.object({ value: z.string() });

const NO_STORE = "This Marathon keeps no secrets: start it with --secrets-key-file FILE " +
  "(32 bytes as hex or base64: openssl rand -hex 32)";

/** The canonical secret path of a request below `/v2/secrets/`; 400 naming the problem. */
function pathOf(c: Context): string {
  let raw: string;
  try {
    raw = decodeURIComponent(c.req.path.slice("/v2/secrets/".length));
  } catch {
    throw new TenderError("bad_request", "The secret's path is not valid URL encoding");
  }
  const p = secretPath(raw);
  if (!p.ok) throw new TenderError("bad_request", `Secret path '${raw}' ${p.error}`);
  return p.path;
}

/** The body of a PUT: `{"value": string}`. Errors never quote the body (it holds the value). */
async function putBody(c: Context): Promise<string> {
  let json: unknown;
  try {
    json = JSON.parse(await c.req.text());
  } catch {
    throw new TenderError("bad_request", 'Invalid JSON: send {"value": "…"}');
  }
  const parsed = PutBodySchema.safeParse(json);
  if (!parsed.success) {
    throw new TenderError("unprocessable", "Object is not valid", [
      { path: "/value", errors: ["must be a string"] },
    ]);
  }
  return parsed.data.value;
}

/** Registers the secret routes; `secrets` undefined: every route says how to enable them. */
export function secretsRoutes(
  api: Hono,
  deps: {
    secrets: SecretStore | undefined;
    service: MarathonService;
    access: (c: Context) => RequestAccess;
  },
): void {
  const { service, access } = deps;
  const owners = async () => [
    ...(await service.store.state()).apps(),
    ...(await service.store.state()).pods(),
  ];
  const store = (): SecretStore => {
    if (!deps.secrets) throw new TenderError("unavailable", NO_STORE);
    return deps.secrets;
  };

  api.get("/v2/secrets", async (c) => {
    const who = access(c);
    const list = (await store().list()).filter((s) => who.canSecret("view_secrets", s.path));
    return c.json({ secrets: list });
  });

  api.get("/v2/secrets/*", async (c) => {
    const path = pathOf(c);
    access(c).mustSecret("view_secrets", path);
    const found = (await store().list()).find((s) => s.path === path);
    if (!found) throw new TenderError("not_found", `Secret '${path}' does not exist`);
    return c.json({ ...found, usedBy: appsUsing(await owners(), path) });
  });

  api.put("/v2/secrets/*", async (c) => {
    const path = pathOf(c);
    const secrets = store();
    const who = access(c);
    // Whether the path is taken is told only to a principal who may write it somehow.
    if (!who.canSecret("create_secrets", path) && !who.canSecret("update_secrets", path)) {
      who.mustSecret("create_secrets", path);
    }
    const exists = await secrets.has(path);
    who.mustSecret(exists ? "update_secrets" : "create_secrets", path);
    const value = await putBody(c);
    const { created } = await secrets.put(path, value);
    return c.json({ path }, created ? 201 : 200);
  });

  api.delete("/v2/secrets/*", async (c) => {
    const path = pathOf(c);
    const secrets = store();
    access(c).mustSecret("delete_secrets", path);
    const users = appsUsing(await owners(), path);
    if (users.length > 0) {
      throw new TenderError(
        "conflict",
        `Secret '${path}' is used by ${users.map((id) => `'${id}'`).join(", ")}: ` +
          `remove it from those apps first`,
      );
    }
    if (!(await secrets.delete(path))) {
      throw new TenderError("not_found", `Secret '${path}' does not exist`);
    }
    return c.json({ path });
  });
}
