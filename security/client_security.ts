/**
 * What a client of Tender's servers carries: credentials (a principal and secret for HTTP
 * Basic, or a bearer token) and the trust it verifies servers by (the system's, or a CA file).
 * Built once from flags and the environment (`security/flags.ts`) and handed to the parts
 * that call the cluster (the agent, the SDK's driver, Marathon, the router, the CLI); its
 * `fetch` adds `Authorization` (unless the request has one) and verifies with the CA.
 *
 * Only cluster calls go through it: task health checks and proxied app traffic use plain
 * `fetch`, so a task never sees the cluster's credentials.
 */
import { basicHeader } from "./credentials.ts";

/** Options of `ClientSecurity`. */
export interface ClientSecurityOptions {
  principal?: string;
  secret?: string;
  token?: string;
  /** PEM text of the CA certificates to trust (besides none: with it, only these). */
  caCerts?: string[];
}

/** Credentials and trust for calls into the cluster. */
export class ClientSecurity {
  /** The principal this client authenticates as (undefined: anonymous). */
  readonly principal: string | undefined;
  /** The `Authorization` value it sends, if any. */
  readonly authorization: string | undefined;
  /** The HTTP client that trusts the CA, when one was given. */
  readonly httpClient: Deno.HttpClient | undefined;
  readonly caCerts: readonly string[];

  constructor(options: ClientSecurityOptions = {}) {
    if (options.token !== undefined && options.secret !== undefined) {
      throw new Error("give a secret or a token, not both");
    }
    if (options.secret !== undefined && !options.principal) {
      throw new Error("a secret needs a principal");
    }
    if (options.principal && options.secret === undefined && options.token === undefined) {
      throw new Error(`principal "${options.principal}" needs a secret or a token`);
    }
    this.principal = options.principal || undefined;
    this.authorization = options.token !== undefined
      ? `Bearer ${options.token}`
      : options.secret !== undefined
      ? basicHeader(options.principal!, options.secret)
      : undefined;
    this.caCerts = options.caCerts ?? [];
    this.httpClient = this.caCerts.length > 0
      ? Deno.createHttpClient({ caCerts: [...this.caCerts] })
      : undefined;
  }

  /** A client with no credentials that trusts the system's CAs. */
  static anonymous(): ClientSecurity {
    return new ClientSecurity();
  }

  /** `fetch` with this client's `Authorization` and trust. */
  readonly fetch: typeof fetch = (input, init) => {
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    if (this.authorization && !headers.has("Authorization")) {
      headers.set("Authorization", this.authorization);
    }
    const more = this.httpClient ? { client: this.httpClient } : {};
    return fetch(input, { ...init, headers, ...more });
  };

  /** Headers to add to a request made some other way (a WebSocket, a raw socket). */
  headers(): Record<string, string> {
    return this.authorization ? { Authorization: this.authorization } : {};
  }

  /** Releases the HTTP client. */
  close(): void {
    this.httpClient?.close();
  }
}
