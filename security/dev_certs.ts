/**
 * A development CA and server certificates for a cluster, made with the `openssl` CLI (which
 * must be installed; CI installs it): `tender certs`, `deno task dev --tls` and the tests use
 * it. The CA signs a certificate whose subject alternative names are the hosts given (IP
 * addresses and DNS names), valid for server and client authentication. Keys are P-256, written
 * with mode 0600; a CA already in the directory is reused, so certificates for several hosts of
 * one cluster share it.
 *
 * Not for production: the CA key lies beside the certificates it signs.
 */
import { join } from "node:path";

/** Options of `makeDevCerts`. */
export interface DevCertOptions {
  /** The directory the files go to (created, mode 0700, when missing). */
  out: string;
  /** Subject alternative names: IP addresses and DNS names (default 127.0.0.1, localhost). */
  hosts?: string[];
  /** Validity of new certificates, in days (default 825, the longest browsers accept). */
  days?: number;
  /** File name of the server certificate and key, without extension (default `server`). */
  name?: string;
  /** Replace an existing server certificate of that name (default: refuse). */
  force?: boolean;
}

/** The files `makeDevCerts` wrote or reused. */
export interface DevCerts {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  /** Whether the CA was made now (false: one in the directory was reused). */
  newCa: boolean;
}

/** Default subject alternative names. */
export const DEFAULT_CERT_HOSTS = ["127.0.0.1", "localhost"];

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9a-fA-F:]+(?:%[A-Za-z0-9]+)?$/;
const DNS_NAME =
  /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The subjectAltName entry for a host; throws naming it when it is neither an IP nor a name. */
export function subjectAltName(host: string): string {
  if (IPV4.test(host)) return `IP:${host}`;
  if (host.includes(":") && IPV6.test(host) && !host.includes("%")) return `IP:${host}`;
  if (host.length <= 253 && DNS_NAME.test(host)) return `DNS:${host}`;
  throw new Error(`--hosts: "${host}" is neither an IP address nor a DNS name`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "the openssl command is needed to make certificates (apt-get install openssl)",
      );
    }
    throw e;
  }
  if (!output.success) {
    const detail = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join("; ");
    throw new Error(`openssl ${args[0]} failed: ${detail}`);
  }
}

/** Makes (or reuses) a CA in `out` and a server certificate and key signed by it. */
export async function makeDevCerts(options: DevCertOptions): Promise<DevCerts> {
  const hosts = options.hosts && options.hosts.length > 0 ? options.hosts : DEFAULT_CERT_HOSTS;
  const sans = hosts.map(subjectAltName);
  const days = options.days ?? 825;
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new Error(`--days: ${days} must be a whole number of days from 1 to 36500`);
  }
  const name = options.name ?? "server";
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || name === "ca") {
    throw new Error(`--name: "${name}" must be a plain file name (letters, digits, . _ -), not ca`);
  }
  const out = options.out;
  await Deno.mkdir(out, { recursive: true, mode: 0o700 });
  const files = {
    caCert: join(out, "ca.crt"),
    caKey: join(out, "ca.key"),
    cert: join(out, `${name}.crt`),
    key: join(out, `${name}.key`),
  };
  if (!options.force && (await exists(files.cert) || await exists(files.key))) {
    throw new Error(`${files.cert} or ${files.key} exists already (--force replaces them)`);
  }
  const haveCa = await exists(files.caCert) && await exists(files.caKey);
  const work = await Deno.makeTempDir({ dir: out, prefix: ".certs-" });
  try {
    const config = join(work, "openssl.cnf");
    await Deno.writeTextFile(
      config,
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        "CN = Tender dev",
        "[ca]",
        "basicConstraints = critical,CA:TRUE,pathlen:0",
        "keyUsage = critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier = hash",
        "[server]",
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage = serverAuth,clientAuth",
        `subjectAltName = ${sans.join(",")}`,
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid",
        "",
      ].join("\n"),
    );
    const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    if (!haveCa) {
      await openssl([
        "req",
        "-x509",
        "-config",
        config,
        "-extensions",
        "ca",
        ...newKey,
        "-keyout",
        join(work, "ca.key"),
        "-out",
        join(work, "ca.crt"),
        "-days",
        String(Math.max(days, 3650)),
        "-subj",
        "/CN=Tender dev CA",
      ], work);
    }
    await openssl([
      "req",
      "-new",
      "-config",
      config,
      ...newKey,
      "-keyout",
      join(work, "server.key"),
      "-out",
      join(work, "server.csr"),
      "-subj",
      `/CN=${hosts[0]}`,
    ], work);
    const serial = Array.from(
      crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    await openssl([
      "x509",
      "-req",
      "-in",
      join(work, "server.csr"),
      "-CA",
      haveCa ? files.caCert : join(work, "ca.crt"),
      "-CAkey",
      haveCa ? files.caKey : join(work, "ca.key"),
      "-set_serial",
      `0x${serial.replace(/^[89a-f]/, "1")}`,
      "-days",
      String(days),
      "-extfile",
      config,
      "-extensions",
      "server",
      "-out",
      join(work, "server.crt"),
    ], work);
    for (const key of ["ca.key", "server.key"]) {
      if (await exists(join(work, key))) await Deno.chmod(join(work, key), 0o600);
    }
    if (!haveCa) {
      await Deno.rename(join(work, "ca.key"), files.caKey);
      await Deno.rename(join(work, "ca.crt"), files.caCert);
      await Deno.chmod(files.caCert, 0o644);
    }
    await Deno.rename(join(work, "server.key"), files.key);
    await Deno.rename(join(work, "server.crt"), files.cert);
    await Deno.chmod(files.cert, 0o644);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return { ...files, newCa: !haveCa };
}
