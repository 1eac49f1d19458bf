/**
 * TLS for servers: `--tls-cert FILE --tls-key FILE` become the `cert`/`key` options of
 * `Deno.serve`, read once at start. Both or neither; a file that cannot be read or is not PEM
 * stops the server at start with a message naming it.
 */

/** The PEM texts a server serves TLS with. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** Reads the certificate chain and key; undefined when neither flag is given. */
export async function loadTls(
  certFile: string | undefined,
  keyFile: string | undefined,
): Promise<TlsFiles | undefined> {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new Error("--tls-cert and --tls-key go together: give both or neither");
  }
  const cert = await readPem(certFile, "--tls-cert", "CERTIFICATE");
  const key = await readPem(keyFile, "--tls-key", "PRIVATE KEY");
  return { cert, key };
}

/** Reads a PEM file (CA bundles for `--ca` too), checking that it holds a `kind` block. */
export async function readPem(path: string, flag: string, kind: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    throw new Error(`${flag}: ${path} holds no PEM ${kind}`);
  }
  return text;
}

/** The scheme a server's URL takes. */
export function schemeOf(tls: TlsFiles | undefined): "http" | "https" {
  return tls ? "https" : "http";
}
