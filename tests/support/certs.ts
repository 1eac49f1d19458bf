/**
 * A throwaway CA and a server certificate for `127.0.0.1` and `localhost`, for TLS tests: made
 * with the `openssl` CLI in `dir` (the test removes `dir`).
 */
import { makeDevCerts } from "../../security/mod.ts";

/** Paths of the CA certificate and the server's certificate and key (PEM). */
export interface TestCerts {
  caCert: string;
  cert: string;
  key: string;
}

/** Makes a CA and a server certificate for 127.0.0.1 and localhost (and `hosts`) in `dir`. */
export async function makeCerts(dir: string, hosts: string[] = []): Promise<TestCerts> {
  const made = await makeDevCerts({ out: dir, hosts: ["127.0.0.1", "localhost", ...hosts] });
  return { caCert: made.caCert, cert: made.cert, key: made.key };
}
