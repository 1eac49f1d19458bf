/**
 * Credentials for a development cluster (`deno task dev --secure`): a random secret per
 * component and one for the user, the credentials file that accepts them (salted hashes only,
 * mode 0600) and the user's secret in a file of its own (0600) for `--secret-file`. New secrets
 * each time: the user's is printed once, the components' never leave the process.
 */
import { join } from "node:path";
import { type CredentialsFile, parseCredentials } from "./credentials.ts";
import type { Credentials } from "./credentials.ts";
import { hashPassword } from "./password_hash.ts";

/**
 * PBKDF2 rounds for these secrets: they are 192 random bits, which no stretching makes harder
 * to guess, so a few rounds keep each component's first request fast.
 */
const RANDOM_SECRET_ROUNDS = 10_000;

/** What `makeDevCredentials` made. */
export interface DevCredentials {
  /** The credentials file (hashes only). */
  file: string;
  credentials: Credentials;
  /** Each principal's secret, the user's included. */
  secrets: ReadonlyMap<string, string>;
  user: { principal: string; secret: string; secretFile: string };
}

/** A random secret: 24 bytes, base64url. */
export function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** Writes a text file readable by its owner only. */
async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600); // an existing file keeps its mode on write
}

/** Makes secrets for `components` and `user`, and writes the files into `dir`. */
export async function makeDevCredentials(
  options: { dir: string; components: string[]; user?: string },
): Promise<DevCredentials> {
  const user = options.user ?? "admin";
  await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
  const secrets = new Map<string, string>();
  for (const principal of [...options.components, user]) secrets.set(principal, randomSecret());
  const content: CredentialsFile = {
    credentials: [...secrets].map(([principal, secret]) => ({
      principal,
      secret: hashPassword(secret, RANDOM_SECRET_ROUNDS),
    })),
    tokens: [],
  };
  const file = join(options.dir, "credentials.json");
  const text = `${JSON.stringify(content, null, 2)}\n`;
  await writePrivate(file, text);
  const secretFile = join(options.dir, `${user}.secret`);
  await writePrivate(secretFile, `${secrets.get(user)!}\n`);
  return {
    file,
    credentials: parseCredentials(text, file),
    secrets,
    user: { principal: user, secret: secrets.get(user)!, secretFile },
  };
}
