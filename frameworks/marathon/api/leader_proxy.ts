/**
 * The front of a Marathon among several on one etcd, as Marathon's `LeaderProxyFilter`: the
 * leader answers with its own API; a standby proxies each request to the leader (method, path,
 * query, headers, body, and the answer streamed back, so `/v2/events` flows through), marking
 * it `X-Marathon-Via`. Every instance answers `/ping`, `/metrics` (its own: a standby's says
 * that it stands by) and `GET /v2/leader` itself; `DELETE /v2/leader` makes the leader abdicate.
 */
import { type Context, Hono } from "hono";
import { HOP_BY_HOP, PROMETHEUS_CONTENT_TYPE } from "../../../base/mod.ts";
import type { ServerSecurity } from "../../../security/mod.ts";
import { marathonAuthentication } from "./auth.ts";

/** Who leads, as this Marathon sees it. */
export interface LeaderView {
  /** This Marathon's base URL, as the others reach it (`http://host:port`). */
  readonly self: string;
  /** The leading Marathon's base URL (this one's while it leads); undefined while none is known. */
  leader(): string | undefined;
  /** The leader's API while this Marathon leads and serves; undefined otherwise. */
  leading(): Hono | undefined;
  /** Gives up leadership; called by `DELETE /v2/leader` on the leader, after it answered. */
  abdicate(): void;
  /** Resolves the next time `leader()` or `leading()` may have changed, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void>;
}

/** Options of `leaderProxy`. */
export interface LeaderProxyOptions {
  /** How requests reach the leader (default: `fetch`). */
  fetch?: (request: Request) => Promise<Response>;
  /** How long a request waits for a leader to be known or ready (default 5 s), then 503. */
  waitMs?: number;
  /**
   * How long a proxied request waits for the leader's answer to begin (default 10 s, Marathon's
   * `--leader_proxy_read_timeout`), then 502: a leader that hangs (paused, cut off) holds no one.
   */
  answerMs?: number;
  /** Ends proxied requests still streaming (e.g. when this Marathon stops). */
  signal?: AbortSignal;
  /** A standby's `/metrics` text. */
  standbyMetrics?: () => string;
  /**
   * Authenticates every request but `/ping` here too (a standby answers `/v2/leader` and
   * `/metrics` itself); `Authorization` is passed on, and the leader authorizes.
   */
  security?: ServerSecurity;
  realm?: string;
}

/** Headers never passed on: those of one connection, and `host` (the leader's is its own). */
const NOT_PASSED_ON = [...HOP_BY_HOP, "host"];

type Route = { kind: "lead"; api: Hono } | { kind: "proxy"; leader: string } | { kind: "none" };

/** Builds the hono app every Marathon on etcd serves, leading or not. */
export function leaderProxy(view: LeaderView, options: LeaderProxyOptions = {}): Hono {
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const waitMs = options.waitMs ?? 5000;
  const answerMs = options.answerMs ?? 10_000;
  const app = new Hono();
  const me = () => hostPort(view.self);
  /** Proxied requests until their answer's body ends; all ended when `options.signal` aborts. */
  const inFlight = new Set<AbortController>();
  options.signal?.addEventListener("abort", () => {
    for (const upstream of inFlight) upstream.abort(options.signal?.reason);
  }, { once: true });

  /**
   * Sends `request` (built with the signal given) to `leader`. Throws when no answer begins
   * within `answerMs`, or when another leader is elected meanwhile; the answer's body then
   * streams until it ends, the client goes away, or the proxy stops.
   */
  const sendUpstream = async (
    leader: string,
    build: (signal: AbortSignal) => Request,
  ): Promise<Response> => {
    const upstream = new AbortController();
    if (options.signal?.aborted) upstream.abort(options.signal.reason);
    inFlight.add(upstream);
    const done = () => inFlight.delete(upstream);
    const answered = new AbortController();
    const timer = setTimeout(
      () => upstream.abort(new Error(`no answer within ${answerMs} ms`)),
      answerMs,
    );
    void (async () => {
      while (!answered.signal.aborted) {
        await view.changed(answered.signal);
        if (!answered.signal.aborted && view.leader() !== leader) {
          upstream.abort(new Error("another leader was elected meanwhile"));
        }
      }
    })();
    try {
      const response = await send(build(upstream.signal));
      if (!response.body) done();
      return response.body ? withBody(response, tracked(response.body, done)) : response;
    } catch (e) {
      done();
      throw e;
    } finally {
      clearTimeout(timer);
      answered.abort();
    }
  };

  /** Where a request goes now, waiting up to `waitMs` while no other leader is known. */
  const route = async (): Promise<Route> => {
    let deadline: AbortSignal | undefined;
    while (true) {
      const api = view.leading();
      if (api) return { kind: "lead", api };
      const leader = view.leader();
      // Itself named leader but not serving yet (taking over, or just deposed): wait.
      if (leader !== undefined && leader !== view.self) return { kind: "proxy", leader };
      deadline ??= AbortSignal.timeout(waitMs);
      if (deadline.aborted) return { kind: "none" };
      await view.changed(deadline);
    }
  };

  const noLeader = (c: Context) =>
    c.json({ message: "Could not determine the current leader" }, 503, { "Retry-After": "1" });

  const lead = async (c: Context, api: Hono) => {
    const response = await api.fetch(c.req.raw, c.env);
    const headers = new Headers(response.headers);
    headers.set("X-Marathon-Leader", view.self);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };

  const proxy = async (c: Context, leader: string) => {
    const request = c.req.raw;
    const via = request.headers.get("x-marathon-via") ?? "";
    const hop = `1.1 ${me()}`;
    if (via.split(",").some((v) => v.trim() === hop)) {
      return c.json({ message: "Detected proxying loop." }, 502);
    }
    const headers = new Headers(request.headers);
    for (const h of NOT_PASSED_ON) headers.delete(h);
    headers.set("X-Marathon-Via", via ? `${via}, ${hop}` : hop);
    const client = remoteAddress(c);
    if (client) {
      const forwarded = request.headers.get("x-forwarded-for");
      headers.set("X-Forwarded-For", forwarded ? `${forwarded}, ${client}` : client);
    }
    const url = new URL(request.url);
    const bodiless = request.method === "GET" || request.method === "HEAD";
    let response: Response;
    try {
      response = await sendUpstream(
        leader,
        (signal) =>
          new Request(`${leader}${url.pathname}${url.search}`, {
            method: request.method,
            headers,
            body: bodiless ? undefined : request.body,
            redirect: "manual",
            // Not the request's signal: Deno.serve aborts it once the answer starts. A client that
            // goes away cancels the answer's body, and that ends the leader's stream.
            signal,
          }),
      );
    } catch (e) {
      return c.json({ message: `Could not reach the leader at ${leader}: ${errorText(e)}` }, 502);
    }
    const out = new Headers(response.headers);
    for (const h of NOT_PASSED_ON) out.delete(h);
    // fetch has decoded the body already: its length and encoding no longer describe it.
    if (out.has("content-encoding")) {
      out.delete("content-encoding");
      out.delete("content-length");
    }
    out.set("X-Marathon-Via", hop);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: out,
    });
  };

  const forward = async (c: Context) => {
    const to = await route();
    if (to.kind === "lead") return await lead(c, to.api);
    if (to.kind === "proxy") return await proxy(c, to.leader);
    return noLeader(c);
  };

  if (options.security) app.use(marathonAuthentication(options.security, options.realm));
  app.get("/ping", (c) => c.text("pong"));
  app.get("/v2/leader", (c) => {
    const leader = view.leading() ? view.self : view.leader();
    return leader === undefined || (leader === view.self && !view.leading())
      ? c.json({ message: "There is no leader" }, 404)
      : c.json({ leader: hostPort(leader) });
  });
  app.delete("/v2/leader", async (c) => {
    const to = await route();
    if (to.kind === "proxy") return await proxy(c, to.leader);
    if (to.kind === "none") return noLeader(c);
    view.abdicate();
    return c.json({ message: "Leadership abdicated" });
  });
  app.get("/metrics", (c) => {
    const api = view.leading();
    if (api) return lead(c, api);
    return c.body(options.standbyMetrics?.() ?? "", 200, {
      "Content-Type": PROMETHEUS_CONTENT_TYPE,
    });
  });
  app.all("*", forward);
  return app;
}

/** `host:port` of a base URL (Marathon's form of the leader). */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}

/** The peer's address, when the request came over a socket (`Deno.serve`'s info). */
function remoteAddress(c: Context): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== "object" || env === null || !("remoteAddr" in env)) return undefined;
  const addr: unknown = env.remoteAddr;
  return typeof addr === "object" && addr !== null && "hostname" in addr &&
      typeof addr.hostname === "string"
    ? addr.hostname
    : undefined;
}

/** `response` with another body. */
function withBody(response: Response, body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** `body` as it is read, calling `onEnd` once when it ends, fails or is cancelled. */
function tracked(
  body: ReadableStream<Uint8Array>,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          onEnd();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        onEnd();
        controller.error(e);
      }
    },
    async cancel(reason) {
      onEnd();
      await reader.cancel(reason);
    },
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
