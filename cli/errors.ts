/** The CLI's one error type: a message that says what to do, and the exit code it ends with. */

/** Exit codes: 0 ok, 1 the operation failed, 2 the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure to report to the user (no stack trace); `exitCode` is 1 or 2. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = EXIT.failed) {
    super(message);
    this.name = "CliError";
  }
}

/** A wrong command line (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
