/**
 * Serves a fuzz target's app over real TLS — the servers' own `serveHttp`, a certificate of a CA
 * made for the run — and sends it requests with a fetch client that trusts only that CA.
 *
 * Over loopback every request would come from 127.0.0.1, and the failure throttle counts per
 * address (one address would be locked out after ten failures, leaving a run of 429s). So the
 * request's `from` travels in `X-Fuzz-From`, which the server takes off before the app sees the
 * request and gives the app as the client's address instead.
 */
import { serveHttp } from "../../security/mod.ts";
import { makeCerts } from "../support/certs.ts";
import type { FuzzRequest } from "./inputs.ts";

const FROM_HEADER = "X-Fuzz-From";

/** What `serveOverTls` serves: a hono app, or anything with its `fetch`. */
export interface FetchApp {
  fetch(
    request: Request,
    env: { remoteAddr: Deno.NetAddr },
  ): Response | Promise<Response>;
}

/** An app served over TLS. */
export interface TlsServed {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** Sends `req` over TLS (its `from` as the client's address); `signal` ends a stream. */
  request(req: FuzzRequest, signal?: AbortSignal): Promise<Response>;
  /** Closes the client, then shuts the server down. */
  stop(): Promise<void>;
}

/** Serves `app` over TLS on a free port of 127.0.0.1, with certificates made in `workDir`. */
export async function serveOverTls(workDir: string, app: FetchApp): Promise<TlsServed> {
  const certs = await makeCerts(`${workDir}/certs`);
  const server = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: await Deno.readTextFile(certs.cert), key: await Deno.readTextFile(certs.key) },
  }, (request, info) => {
    const from = request.headers.get(FROM_HEADER);
    if (from === null) return app.fetch(request, { remoteAddr: info.remoteAddr });
    const headers = new Headers(request.headers);
    headers.delete(FROM_HEADER);
    return app.fetch(new Request(request, { headers }), {
      remoteAddr: { ...info.remoteAddr, hostname: from },
    });
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
  const url = `https://127.0.0.1:${server.addr.port}`;
  return {
    url,
    request: (req, signal) =>
      fetch(`${url}${req.path}`, {
        method: req.method,
        headers: { ...req.headers, [FROM_HEADER]: req.from ?? "127.0.0.1" },
        body: req.body,
        client,
        ...(signal ? { signal } : {}),
      }),
    async stop() {
      client.close();
      await server.shutdown();
    },
  };
}
