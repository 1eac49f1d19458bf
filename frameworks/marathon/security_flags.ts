/**
 * Marathon's security flags, as Marathon names them, beside Tender's shared ones:
 * `--http-credentials user:password` (one pair; it shows in `ps`, so `--credentials FILE` is the
 * way that keeps secrets out of argv), `--http-realm` (default `Mesosphere`), and for its calls
 * to the master `--mesos-authentication` with `--mesos-authentication-principal` and
 * `--mesos-authentication-secret-file`, or Tender's `--principal`, `--secret-file`,
 * `--token-file`, `--ca` and their environment variables.
 */
import {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_USAGE,
  type ClientSecurity,
  clientSecurity,
  headerTimeoutFlag,
  loadAcls,
  loadCredentials,
  loadTls,
  parseCredentials,
  SERVER_SECURITY_FLAGS,
  SERVER_SECURITY_USAGE,
  ServerSecurity,
  type TlsFiles,
} from "../../security/mod.ts";
import { MARATHON_REALM } from "./api/auth.ts";

/** `parseArgs` options of Marathon's security flags (servers' and clients'). */
export const MARATHON_SECURITY_FLAGS = {
  ...SERVER_SECURITY_FLAGS,
  ...CLIENT_SECURITY_FLAGS,
  "http-credentials": { type: "string" },
  "http-realm": { type: "string" },
  "mesos-authentication": { type: "boolean" },
  "mesos-authentication-principal": { type: "string" },
  "mesos-authentication-secret-file": { type: "string" },
} as const;

/** Usage lines of Marathon's security flags. */
export const MARATHON_SECURITY_USAGE = `${SERVER_SECURITY_USAGE}
  --http-credentials USER:PASSWORD   one principal for the API (as Marathon; visible in ps:
                        prefer --credentials FILE); with either, every route but /ping needs them
  --http-realm NAME     realm of the 401 challenge (default ${MARATHON_REALM})
 to the master:
  --mesos-authentication  authenticate to the master (Marathon's flag), as
  --mesos-authentication-principal NAME with --mesos-authentication-secret-file FILE
${CLIENT_SECURITY_USAGE}`;

/** The parsed values of `MARATHON_SECURITY_FLAGS`. */
export interface MarathonSecurityValues {
  credentials?: string;
  acls?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "http-header-timeout"?: string;
  principal?: string;
  "secret-file"?: string;
  "token-file"?: string;
  ca?: string;
  "http-credentials"?: string;
  "http-realm"?: string;
  "mesos-authentication"?: boolean;
  "mesos-authentication-principal"?: string;
  "mesos-authentication-secret-file"?: string;
}

/** What Marathon serves and calls with. */
export interface MarathonSecurity {
  security: ServerSecurity;
  realm: string;
  tls: TlsFiles | undefined;
  client: ClientSecurity;
}

/** Builds Marathon's security from its flags and `env`; throws an Error naming the flag. */
export async function marathonSecurity(
  values: MarathonSecurityValues,
  env: (name: string) => string | undefined,
): Promise<MarathonSecurity> {
  if (values["http-credentials"] !== undefined && values.credentials !== undefined) {
    throw new Error("--http-credentials and --credentials: give one of them");
  }
  const credentials = values["http-credentials"] !== undefined
    ? httpCredentials(values["http-credentials"])
    : values.credentials !== undefined
    ? await loadCredentials(values.credentials)
    : undefined;
  const acls = values.acls !== undefined ? await loadAcls(values.acls) : undefined;
  const tls = await loadTls(values["tls-cert"], values["tls-key"]);
  headerTimeoutFlag(values["http-header-timeout"]);
  const realm = values["http-realm"] ?? MARATHON_REALM;
  if (!/^[\x20-\x7e]{1,128}$/.test(realm) || realm.includes('"')) {
    throw new Error(`--http-realm: "${realm}" must be 1 to 128 printable characters, no '"'`);
  }
  return {
    security: new ServerSecurity({ credentials, acls }),
    realm,
    tls,
    client: await clientSecurity(clientValues(values, env), env),
  };
}

/** Credentials of one `user:password` pair (`--http-credentials`). */
export function httpCredentials(pair: string): ReturnType<typeof parseCredentials> {
  const colon = pair.indexOf(":");
  if (colon <= 0 || colon === pair.length - 1) {
    throw new Error("--http-credentials must be USER:PASSWORD (the user may not contain ':')");
  }
  const principal = pair.slice(0, colon);
  const secret = pair.slice(colon + 1);
  try {
    return parseCredentials(JSON.stringify({ credentials: [{ principal, secret }] }));
  } catch {
    // The message would hold the secret: name only the rule.
    throw new Error(
      "--http-credentials: the user must be 1 to 256 characters and the password 1 to 4096",
    );
  }
}

/** Marathon's names for the client flags, mapped onto Tender's. */
function clientValues(
  values: MarathonSecurityValues,
  env: (name: string) => string | undefined,
) {
  const principal = values["mesos-authentication-principal"];
  const secretFile = values["mesos-authentication-secret-file"];
  if (!values["mesos-authentication"]) {
    if (principal !== undefined || secretFile !== undefined) {
      throw new Error(
        "--mesos-authentication-principal and --mesos-authentication-secret-file need " +
          "--mesos-authentication",
      );
    }
    return values;
  }
  const merged = {
    ...values,
    principal: pick("principal", values.principal, principal),
    "secret-file": pick("secret-file", values["secret-file"], secretFile),
  };
  if (merged.principal === undefined && env("TENDER_PRINCIPAL") === undefined) {
    throw new Error(
      "--mesos-authentication needs --mesos-authentication-principal (or --principal)",
    );
  }
  return merged;
}

function pick(name: string, tender: string | undefined, marathon: string | undefined) {
  if (tender !== undefined && marathon !== undefined && tender !== marathon) {
    throw new Error(`--${name} and --mesos-authentication-${name} differ: give one`);
  }
  return tender ?? marathon;
}
