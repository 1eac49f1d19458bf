/**
 * Unix user names as tasks carry them (CommandInfo.user, FrameworkInfo.user, Marathon's and
 * Metronome's `user`): checked where they enter, so that no option, path or control character
 * reaches the agent's user lookup.
 */

const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}\$?$/;

/** Whether `name` is a user name (POSIX portable characters, at most 256, an optional `$`). */
export function isUserName(name: string): boolean {
  return USER_NAME.test(name);
}

/** The message for a value that is not a user name. */
export const NOT_A_USER_NAME = "must be a user name: letters, digits, '_', '.', '-'";
