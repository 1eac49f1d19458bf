/**
 * `tender auth hash` and `tender auth token PRINCIPAL`: what goes into a credentials file
 * (`--credentials FILE` of every server) without writing a secret in clear. The secret is read
 * from standard input, never from argv, where `ps` would show it.
 */
import { hashPassword, newToken } from "../../security/mod.ts";
import type { Command } from "../command.ts";
import { CliError, usageError } from "../errors.ts";

/** `tender auth hash`: a salted PBKDF2 hash of the secret on stdin, for a credential's `secret`. */
export const authHashCommand: Command = {
  name: "auth hash",
  usage: "auth hash < SECRET",
  summary: "print a $pbkdf2-sha256$ hash of the secret read from stdin (credentials file)",
  async run(ctx) {
    if (ctx.args.length > 0) {
      throw usageError("auth hash reads the secret from standard input, not from arguments");
    }
    if (!ctx.io.stdin) throw new CliError("auth hash: no standard input to read the secret from");
    // One line: a trailing line feed (echo, a terminal) is not part of the secret.
    const secret = (await ctx.io.stdin(16_384)).replace(/\r?\n$/, "");
    if (secret === "") throw usageError("auth hash: the secret on standard input is empty");
    if (secret.length > 4096) throw usageError("auth hash: the secret is over 4096 characters");
    const hash = hashPassword(secret);
    ctx.output(() => `${hash}\n`, { secret: hash });
  },
};

/** `tender auth token PRINCIPAL`: a new bearer token and the entry that accepts it. */
export const authTokenCommand: Command = {
  name: "auth token",
  usage: "auth token PRINCIPAL",
  summary: 'print a new bearer token and its entry for the credentials file\'s "tokens"',
  run(ctx) {
    const [principal, ...rest] = ctx.args;
    if (principal === undefined) throw usageError("auth token: name the PRINCIPAL it stands for");
    if (rest.length > 0) throw usageError(`auth token takes one PRINCIPAL, got "${rest[0]}" too`);
    if (principal.includes(":") || principal.length > 256) {
      throw usageError(
        `auth token: principal "${principal.slice(0, 40)}" must be 1 to 256 characters, no ':'`,
      );
    }
    const { token, entry } = newToken(principal);
    ctx.output(
      () =>
        `${token}\n` +
        `# add to the "tokens" of the credentials file (it holds only the token's SHA-256):\n` +
        `# ${JSON.stringify(entry)}\n` +
        `# use it with TENDER_TOKEN or --token-file FILE\n`,
      { token, entry },
    );
    return Promise.resolve();
  },
};

export const authCommands: Command[] = [authHashCommand, authTokenCommand];
