/** The HTTP API: hono routes, one typed handler per route and method, one onError for OCI bodies. */
import { type Context, Hono } from "hono";
import {
  clientAddress,
  type FailureRenderer,
  httpErrorHandler,
  requestLimits,
} from "../base/mod.ts";
import { type AuthDecision, Authenticator, type Identity, scopeOf, SERVICE } from "./auth.ts";
import type { ByteRange } from "./blob_store.ts";
import { ociEntries, RegistryError } from "./errors.ts";
import type { GcOptions } from "./gc.ts";
import type { RegistryMetrics } from "./metrics.ts";
import { acceptedTypes, isAcceptable, MAX_MANIFEST_BYTES, MEDIA_TYPES } from "./manifests.ts";
import { isValidTag } from "./names.ts";
import { referrersIndex, type Registry, requireDigest } from "./registry.ts";
import { actionOf, parseRoute, type Route, type RouteKind } from "./route.ts";
import type { ChunkInfo } from "./uploads.ts";

/** What the HTTP layer serves. */
export interface AppDeps {
  registry: Registry;
  /** Authentication and the ACLs; absent: open to everyone. */
  auth?: Authenticator;
  /** Options for `POST /admin/gc`. */
  gc?: GcOptions;
  /** Times and counts requests and serves `GET /metrics`. */
  metrics?: RegistryMetrics;
}

declare module "hono" {
  interface ContextVariableMap {
    /** Who the registry request is from, once authorized. */
    registryIdentity: Identity;
  }
}

/** An authentication failure, written as 401 with its challenge. */
export class AuthChallengeError extends RegistryError {
  readonly challenge: string;
  constructor(message: string, challenge: string) {
    super("UNAUTHORIZED", message);
    this.challenge = challenge;
  }
}

/** Too many failed authentications from one client: 429 with `Retry-After`. */
export class ThrottledError extends RegistryError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super("TOOMANYREQUESTS", message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The OCI error body (`{"errors": [...]}`, none for HEAD) with the headers its codes demand: the
 * challenge of a 401, `Retry-After` of a 429, `Content-Range` of a 416.
 */
const ociJson: FailureRenderer = (failure, c) => {
  const error = failure.thrown;
  const h = headers({ "Content-Type": "application/json; charset=utf-8" });
  if (error instanceof AuthChallengeError) h.set("WWW-Authenticate", error.challenge);
  if (error instanceof ThrottledError) h.set("Retry-After", String(error.retryAfterSeconds));
  if (error instanceof RegistryError && error.ociCode === "RANGE_INVALID") {
    const detail = error.entries[0]?.detail;
    if (typeof detail === "object" && detail !== null && "size" in detail) {
      h.set("Content-Range", `bytes */${String(detail.size)}`);
    }
  }
  h.set("Docker-Distribution-API-Version", "registry/2.0");
  const text = c.req.method === "HEAD" ? null : JSON.stringify({ errors: ociEntries(failure) });
  return new Response(text, { status: failure.status, headers: h });
};

/** The identity of an allowed request; throws the 401, 403 or 429 of a refused one. */
function allowed(decision: AuthDecision): Identity {
  if (decision.ok) return decision.identity;
  if (decision.code === "unauthorized") {
    throw new AuthChallengeError(decision.message, decision.challenge);
  }
  if (decision.code === "too_many_requests") {
    throw new ThrottledError(decision.message, decision.retryAfterSeconds);
  }
  throw new RegistryError("DENIED", decision.message);
}

type Handler<K extends RouteKind> = (
  c: Context,
  route: Extract<Route, { kind: K }>,
) => Promise<Response>;
type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
type HandlerTable = { [K in RouteKind]: Partial<Record<Method, Handler<K>>> };

const MAX_PAGE = 10_000;

function headers(init: Record<string, string | number | undefined>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(init)) if (v !== undefined) h.set(k, String(v));
  return h;
}

function json(
  body: unknown,
  status = 200,
  extra: Record<string, string | undefined> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers({ "Content-Type": "application/json", ...extra }),
  });
}

/** Reads a whole body, failing with 413 as soon as it grows past `max` bytes. */
async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body ?? []) {
    length += chunk.byteLength;
    if (length > max) throw new RegistryError("TOO_LARGE", `Manifest exceeds ${max} bytes`);
    parts.push(chunk);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

/** Parses `Content-Range: start-end` (with or without a `bytes ` prefix). */
function chunkInfo(req: Request): ChunkInfo {
  const length = req.headers.get("content-length");
  const contentLength = length === null ? undefined : Number(length);
  const raw = req.headers.get("content-range");
  if (raw === null) return { contentLength };
  const m = raw.trim().match(/^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/);
  if (!m) throw new RegistryError("RANGE_INVALID", `Content-Range "${raw}" is malformed`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) {
    throw new RegistryError("RANGE_INVALID", `Content-Range "${raw}" ends before it starts`);
  }
  return { range: { start, end }, contentLength };
}

/** Parses a `Range: bytes=...` request header against a blob size (RFC 9110, one range). */
export function parseByteRange(raw: string, size: number): ByteRange | "unsatisfiable" | undefined {
  const m = raw.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || Number(m[2] || size) < start) return "unsatisfiable";
  return { start, end };
}

function pageSize(c: Context): { n: number } {
  const raw = c.req.query("n");
  if (raw === undefined || raw === "") return { n: MAX_PAGE };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE) {
    throw new RegistryError(
      "PAGINATION_NUMBER_INVALID",
      `n=${raw} must be an integer from 0 to ${MAX_PAGE}`,
    );
  }
  return { n };
}

function nextLink(path: string, n: number, items: string[], more: boolean): string | undefined {
  const last = items.at(-1);
  if (!more || last === undefined) return undefined;
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

function uploadHeaders(name: string, id: string, size: number): Headers {
  return headers({
    "Location": `/v2/${name}/blobs/uploads/${id}`,
    "Docker-Upload-UUID": id,
    "Range": rangeHeader(size),
    "Content-Length": 0,
  });
}

function createdBlob(name: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: headers({
      "Location": `/v2/${name}/blobs/${digest}`,
      "Docker-Content-Digest": digest,
      "Content-Length": 0,
    }),
  });
}

function handlers(registry: Registry, auth: Authenticator | undefined): HandlerTable {
  const blobHead: Handler<"blob"> = async (c, { name, digest }) => {
    const size = await registry.statBlob(name, digest);
    const h = headers({
      "Content-Type": "application/octet-stream",
      "Docker-Content-Digest": digest,
      "Accept-Ranges": "bytes",
      "ETag": `"${digest}"`,
      "Cache-Control": "max-age=31536000",
      "Content-Length": size,
    });
    const rawRange = c.req.header("range");
    const range = rawRange === undefined ? undefined : parseByteRange(rawRange, size);
    if (range === "unsatisfiable") {
      throw new RegistryError(
        "RANGE_INVALID",
        `Range "${rawRange}" is outside a blob of ${size} bytes`,
        { size },
      );
    }
    if (c.req.method === "HEAD") return new Response(null, { status: 200, headers: h });
    if (range) {
      h.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
      h.set("Content-Length", String(range.end - range.start + 1));
      return new Response(await registry.openBlob(digest, range), {
        status: 206,
        headers: h,
      });
    }
    return new Response(await registry.openBlob(digest), { status: 200, headers: h });
  };

  const manifestGet: Handler<"manifest"> = async (c, { name, reference }) => {
    const { digest, record } = await registry.getManifest(name, reference);
    // Headers.get joins repeated Accept lines with ", ", which acceptedTypes splits again.
    const accepted = acceptedTypes([c.req.header("accept") ?? ""]);
    if (!isAcceptable(record.mediaType, accepted)) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `Manifest "${reference}" is a ${record.mediaType}, which the client does not accept`,
        reference,
      );
    }
    const h = headers({
      "Content-Type": record.mediaType,
      "Docker-Content-Digest": digest,
      "ETag": `"${digest}"`,
      "Content-Length": record.size,
    });
    if (c.req.header("if-none-match")?.includes(digest)) {
      return new Response(null, { status: 304, headers: h });
    }
    if (c.req.method === "HEAD") return new Response(null, { status: 200, headers: h });
    return new Response(await registry.manifestBytes(digest), { status: 200, headers: h });
  };

  return {
    base: { GET: () => Promise.resolve(json({})) },
    catalog: {
      GET: async (c) => {
        const { n } = pageSize(c);
        const page = await registry.catalog(n, c.req.query("last"));
        const link = nextLink("/v2/_catalog", n, page.items, page.more);
        // Only the repositories the caller may pull are listed (a page may come out shorter).
        const identity = c.get("registryIdentity");
        const visible = auth ? page.items.filter((r) => auth.canPull(identity, r)) : page.items;
        return json({ repositories: visible }, 200, { Link: link });
      },
    },
    tags: {
      GET: async (c, { name }) => {
        const { n } = pageSize(c);
        const page = await registry.tags(name, n, c.req.query("last"));
        const link = nextLink(`/v2/${name}/tags/list`, n, page.items, page.more);
        return json({ name, tags: page.items }, 200, { Link: link });
      },
    },
    manifest: {
      GET: manifestGet,
      HEAD: manifestGet,
      PUT: async (c, { name, reference }) => {
        const declared = Number(c.req.header("content-length") ?? 0);
        if (declared > MAX_MANIFEST_BYTES) {
          throw new RegistryError(
            "TOO_LARGE",
            `Manifest of ${declared} bytes exceeds ${MAX_MANIFEST_BYTES}`,
          );
        }
        const tags = c.req.queries("tag") ?? [];
        for (const tag of tags) {
          if (!isValidTag(tag)) {
            throw new RegistryError("TAG_INVALID", `Tag "${tag}" is invalid`, tag);
          }
        }
        const bytes = await readLimited(c.req.raw.body, MAX_MANIFEST_BYTES);
        const { digest, subject } = await registry.putManifest({
          name,
          reference,
          bytes,
          contentType: c.req.header("content-type"),
          tags,
        });
        const h = headers({
          "Location": `/v2/${name}/manifests/${digest}`,
          "Docker-Content-Digest": digest,
          "OCI-Subject": subject,
          "Content-Length": 0,
        });
        for (const tag of tags) h.append("OCI-Tag", tag);
        return new Response(null, { status: 201, headers: h });
      },
      DELETE: async (_c, { name, reference }) => {
        await registry.deleteManifest(name, reference);
        return new Response(null, { status: 202, headers: headers({ "Content-Length": 0 }) });
      },
    },
    blob: {
      HEAD: blobHead,
      GET: blobHead,
      DELETE: async (_c, { name, digest }) => {
        await registry.deleteBlob(name, digest);
        return new Response(null, { status: 202, headers: headers({ "Content-Length": 0 }) });
      },
    },
    uploads: {
      POST: async (c, { name }) => {
        const mount = c.req.query("mount");
        const from = c.req.query("from");
        // A mount from a repository the caller may not pull (or, without `from`, from anywhere
        // unless it may pull everything) falls back to an upload, as the spec allows.
        const mayMount = !auth || auth.canPull(c.get("registryIdentity"), from);
        if (mount !== undefined && mayMount && (await registry.mount(name, mount, from))) {
          return createdBlob(name, mount);
        }
        const id = await registry.uploads.start(name);
        const digest = c.req.query("digest");
        if (digest !== undefined) {
          requireDigest(digest);
          const body = c.req.raw.body;
          const done = await registry.uploads.finish({
            name,
            id,
            digest,
            body,
            chunk: chunkInfo(c.req.raw),
          });
          return createdBlob(name, done.digest);
        }
        return new Response(null, { status: 202, headers: uploadHeaders(name, id, 0) });
      },
    },
    upload: {
      GET: async (_c, { name, id }) => {
        const size = await registry.uploads.size(name, id);
        return new Response(null, { status: 204, headers: uploadHeaders(name, id, size) });
      },
      PATCH: async (c, { name, id }) => {
        const size = await registry.uploads.append(name, id, c.req.raw.body, chunkInfo(c.req.raw));
        return new Response(null, { status: 202, headers: uploadHeaders(name, id, size) });
      },
      PUT: async (c, { name, id }) => {
        const done = await registry.uploads.finish({
          name,
          id,
          digest: c.req.query("digest"),
          body: c.req.raw.body,
          chunk: chunkInfo(c.req.raw),
        });
        return createdBlob(name, done.digest);
      },
      DELETE: async (_c, { name, id }) => {
        await registry.uploads.cancel(name, id);
        return new Response(null, { status: 204 });
      },
    },
    referrers: {
      GET: async (c, { name, digest }) => {
        const artifactType = c.req.query("artifactType");
        const list = await registry.referrers(name, digest, artifactType);
        return json(referrersIndex(list), 200, {
          "Content-Type": MEDIA_TYPES.ociIndex,
          "OCI-Filters-Applied": artifactType === undefined ? undefined : "artifactType",
        });
      },
    },
  };
}

/** Calls the handler for a route and method, if there is one. */
function dispatch(
  t: HandlerTable,
  c: Context,
  route: Route,
  m: Method,
): Promise<Response> | undefined {
  switch (route.kind) {
    case "base":
      return t.base[m]?.(c, route);
    case "catalog":
      return t.catalog[m]?.(c, route);
    case "tags":
      return t.tags[m]?.(c, route);
    case "manifest":
      return t.manifest[m]?.(c, route);
    case "uploads":
      return t.uploads[m]?.(c, route);
    case "upload":
      return t.upload[m]?.(c, route);
    case "blob":
      return t.blob[m]?.(c, route);
    case "referrers":
      return t.referrers[m]?.(c, route);
  }
}

function isMethod(method: string): method is Method {
  return ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].includes(method);
}

/** Builds the registry's hono app. */
export function createApp(deps: AppDeps): Hono {
  const { registry, auth } = deps;
  const table = handlers(registry, auth);
  const app = new Hono();
  const realm = (c: Context) => `${new URL(c.req.url).origin}/auth/token`;
  deps.metrics?.mount(app, registry);

  app.use(async (c, next) => {
    await next();
    c.res.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  });
  // Blob uploads stream to disk with their own checks (Content-Range, digest); manifests are
  // read with `MAX_MANIFEST_BYTES`. Everything else takes the common limits.
  app.use(requestLimits({
    limitsFor: (c) => {
      const kind = (() => {
        try {
          return parseRoute(new URL(c.req.url).pathname)?.kind;
        } catch {
          return undefined; // a bad name: the route answers NAME_INVALID
        }
      })();
      return kind === "upload" || kind === "uploads" || kind === "manifest" ? null : undefined;
    },
  }));

  app.onError(httpErrorHandler("registry", ociJson));

  app.get("/auth/token", (c) => {
    if (!auth?.authenticating) {
      return Promise.resolve(json({ token: "anonymous", access_token: "anonymous" }));
    }
    const header = c.req.header("authorization");
    let principal: string | undefined;
    if (header) {
      const decision = auth.authorize({
        header,
        action: "ping",
        realm: realm(c),
        client: clientAddress(c),
      });
      if (!decision.ok && decision.code === "unauthorized") {
        throw new AuthChallengeError(decision.message, `Basic realm="${SERVICE}"`);
      }
      principal = allowed(decision).principal;
    }
    // Docker asks for several scopes as repeated parameters; some clients join them with spaces.
    const scopes = (c.req.queries("scope") ?? []).flatMap((s) => s.split(" "));
    const { token, expiresIn, issuedAt } = auth.issueToken(principal, scopes);
    return Promise.resolve(
      json({ token, access_token: token, expires_in: expiresIn, issued_at: issuedAt }),
    );
  });

  app.post("/admin/gc", async (c) => {
    if (auth) {
      allowed(auth.authorize({
        header: c.req.header("authorization"),
        action: "admin",
        realm: realm(c),
        client: clientAddress(c),
      }));
    }
    const dryRun = c.req.query("dryRun") === "true";
    return json(await registry.gc({ ...deps.gc, ...(dryRun ? { dryRun } : {}) }));
  });

  app.all("/v2/*", async (c) => {
    const route = parseRoute(new URL(c.req.url).pathname);
    if (!route) throw new RegistryError("NAME_UNKNOWN", `No registry endpoint at ${c.req.path}`);
    const method = c.req.method;
    if (auth) {
      const action = route.kind === "base" ? "ping" : actionOf(route, method);
      const name = "name" in route ? route.name : undefined;
      const identity = allowed(auth.authorize({
        header: c.req.header("authorization"),
        action,
        name,
        scope: scopeOf(name, action),
        realm: realm(c),
        client: clientAddress(c),
      }));
      c.set("registryIdentity", identity);
      c.set("principal", identity.principal);
    }
    const response = isMethod(method) ? dispatch(table, c, route, method) : undefined;
    if (!response) {
      throw new RegistryError("UNSUPPORTED", `${method} is not supported on ${c.req.path}`);
    }
    return await response;
  });
  return app;
}
