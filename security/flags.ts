/**
 * The security flags every server and client share, declared once. Servers: `--credentials`,
 * `--acls`, `--tls-cert`, `--tls-key` (which routes require credentials is each server's own
 * switch). Clients: `--principal` with `--secret-file` or `TENDER_SECRET`, or `--token-file` or
 * `TENDER_TOKEN`, and `--ca` (else `TENDER_CA`). Secrets are never taken from argv, where `ps`
 * shows them; `TENDER_PRINCIPAL` stands in for `--principal`.
 */
import { usageError } from "../base/mod.ts";
import { loadAcls } from "./acls.ts";
import { ClientSecurity } from "./client_security.ts";
import { loadCredentials } from "./credentials.ts";
import { ServerSecurity } from "./server_security.ts";
import { setDefaultHeaderTimeout } from "./serve.ts";
import { loadTls, readPem, type TlsFiles } from "./tls.ts";

/** `parseArgs` options of a server's security flags. */
export const SERVER_SECURITY_FLAGS = {
  credentials: { type: "string" },
  acls: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "http-header-timeout": { type: "string" },
} as const;

/** `parseArgs` options of a client's security flags. */
export const CLIENT_SECURITY_FLAGS = {
  principal: { type: "string" },
  "secret-file": { type: "string" },
  "token-file": { type: "string" },
  ca: { type: "string" },
} as const;

/** Usage lines for the server flags. */
export const SERVER_SECURITY_USAGE =
  `  --credentials FILE    principals and secrets (Mesos' JSON shape); turns authentication on
  --acls FILE           ACLs (Mesos' JSON shape)
  --tls-cert FILE       serve HTTPS with this certificate chain (PEM), with --tls-key FILE
  --http-header-timeout SECONDS  close a connection that has not sent a request's headers
                        this long after opening or after its last response (default 10; 0: never)`;

/** Usage lines for the client flags. */
export const CLIENT_SECURITY_USAGE =
  `  --principal NAME      authenticate as NAME (or TENDER_PRINCIPAL), with
  --secret-file FILE    its secret (or TENDER_SECRET), or
  --token-file FILE     a bearer token (or TENDER_TOKEN)
  --ca FILE             trust the CA certificates in FILE (PEM; or TENDER_CA) for HTTPS`;

/** A server's security from its flags; exits 2 naming the flag when a file is bad. */
export async function serverSecurityFlags(
  values: {
    credentials?: string;
    acls?: string;
    "tls-cert"?: string;
    "tls-key"?: string;
    "http-header-timeout"?: string;
  },
  usage: string,
): Promise<{ security: ServerSecurity; tls: TlsFiles | undefined }> {
  try {
    headerTimeoutFlag(values["http-header-timeout"]);
    const credentials = values.credentials ? await loadCredentials(values.credentials) : undefined;
    const acls = values.acls ? await loadAcls(values.acls) : undefined;
    const tls = await loadTls(values["tls-cert"], values["tls-key"]);
    return { security: new ServerSecurity({ credentials, acls }), tls };
  } catch (e) {
    usageError((e as Error).message, usage);
  }
}

/**
 * `--http-header-timeout SECONDS`: sets how long the servers this process starts wait for a
 * request's headers (`setDefaultHeaderTimeout`); throws naming the flag when it is not a number
 * of seconds from 0 (no bound) to 3600.
 */
export function headerTimeoutFlag(value: string | undefined): void {
  if (value === undefined) return;
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new Error(
      `--http-header-timeout: "${value}" must be a number of seconds from 0 (no bound) to 3600`,
    );
  }
  setDefaultHeaderTimeout(seconds * 1000);
}

/** A client's security from its flags and `env`; exits 2 naming the problem. */
export async function clientSecurityFlags(
  values: {
    principal?: string;
    "secret-file"?: string;
    "token-file"?: string;
    ca?: string;
  },
  usage: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<ClientSecurity> {
  try {
    return await clientSecurity(values, env);
  } catch (e) {
    usageError((e as Error).message, usage);
  }
}

/** The same, throwing instead of exiting (for the CLI and tests). */
export async function clientSecurity(
  values: { principal?: string; "secret-file"?: string; "token-file"?: string; ca?: string },
  env: (name: string) => string | undefined,
): Promise<ClientSecurity> {
  const secret = values["secret-file"] !== undefined
    ? await readSecret(values["secret-file"], "--secret-file")
    : env("TENDER_SECRET");
  const token = values["token-file"] !== undefined
    ? await readSecret(values["token-file"], "--token-file")
    : env("TENDER_TOKEN");
  const principal = values.principal ?? env("TENDER_PRINCIPAL");
  const caFile = values.ca ?? env("TENDER_CA");
  const caCerts = caFile ? [await readPem(caFile, "--ca", "CERTIFICATE")] : undefined;
  // A token from the environment wins over an unrelated secret only when no principal is set.
  const useToken = token !== undefined && (secret === undefined || !principal);
  return new ClientSecurity({
    principal: useToken ? undefined : principal,
    secret: useToken ? undefined : secret,
    token: useToken ? token : undefined,
    caCerts,
  });
}

async function readSecret(path: string, flag: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (e) {
    throw new Error(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
}
