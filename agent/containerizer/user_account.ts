import { isUserName } from "../../base/mod.ts";

/**
 * Unix accounts for tasks that run as their own user (Mesos' `--switch_user`): the account's
 * ids from the system's user database, and a sandbox handed over to it.
 */

/** A user's entry in the user database (`getpwnam`). */
export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Parses one `passwd` line (`name:x:uid:gid:gecos:home:shell`); undefined when malformed. */
export function parsePasswdLine(line: string): UserAccount | undefined {
  const fields = line.split(":");
  if (fields.length < 7) return undefined;
  const [name, , uid, gid, , home] = fields;
  if (!name || !/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? "")) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? "/" };
}

/**
 * Looks a user up by name as `getpwnam` does: through `getent passwd` (so NSS sources such as
 * LDAP count), else in `/etc/passwd` where there is no `getent`. Undefined for an unknown user.
 */
export async function lookupUser(name: string): Promise<UserAccount | undefined> {
  // A name that is no user name (options, separators, NUL) is never looked up.
  if (!isUserName(name)) return undefined;
  try {
    const out = await new Deno.Command("getent", {
      args: ["passwd", "--", name],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return undefined; // 2: no such key
    const account = parsePasswdLine(new TextDecoder().decode(out.stdout).trim());
    return account?.name === name || account?.uid === Number(name) ? account : undefined;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const passwd = await Deno.readTextFile("/etc/passwd");
  return passwd.split("\n").map(parsePasswdLine).find((a) => a?.name === name);
}

/**
 * Gives a directory and everything below it to a user. Symbolic links are left alone, neither
 * followed nor changed: a link in a sandbox may point at a host path (a HOST_PATH volume).
 */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  const info = await Deno.lstat(dir);
  if (info.isSymlink) return;
  await Deno.chown(dir, uid, gid);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isSymlink) continue;
    await chownTree(`${dir}/${entry.name}`, uid, gid);
  }
}

/**
 * The first directory on the way to `path` (from `/`, `path` itself included) that `account`
 * may not pass through (no search permission for its uid, or its primary gid; supplementary
 * groups are not consulted, so a directory open only to one of them is reported), or undefined
 * when it reaches `path`.
 */
export async function blockingDir(
  path: string,
  account: UserAccount,
): Promise<{ dir: string; mode: number } | undefined> {
  const parts = path.split("/").filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join("/")}`;
    const info = await Deno.stat(dir);
    const mode = (info.mode ?? 0) & 0o7777;
    const bit = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) return { dir, mode };
  }
  return undefined;
}

/** How to start a program as another user: the argv to spawn, and Deno's uid/gid if any. */
export interface SwitchedCommand {
  program: string;
  args: string[];
  /** Set only where `setpriv` is missing: Deno's own switch, which drops supplementary groups. */
  ids?: { uid: number; gid: number };
}

let setprivPath: Promise<string | undefined> | undefined;

/** `setpriv` (util-linux) on this host, looked up once; undefined when there is none. */
function findSetpriv(): Promise<string | undefined> {
  return setprivPath ??= (async () => {
    for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      const path = `${dir}/setpriv`;
      if (await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
    }
    return undefined;
  })();
}

/**
 * Runs `program args` as the user `ids` names with that user's supplementary groups, as Mesos'
 * `--switch_user` does with `initgroups`: through `setpriv --init-groups`, because Deno's
 * `uid`/`gid` spawn options (Rust's) clear the supplementary groups and offer no `initgroups`.
 * Where `setpriv` is missing, falls back to Deno's switch (primary group only) and says so once
 * through `warn`.
 */
export async function switchUser(
  ids: { uid: number; gid: number },
  command: { program: string; args: string[]; warn?: (message: string) => void },
): Promise<SwitchedCommand> {
  const setpriv = await findSetpriv();
  if (setpriv === undefined) {
    if (!warnedNoSetpriv) {
      warnedNoSetpriv = true;
      command.warn?.(
        "setpriv (util-linux) is not installed: tasks that switch user run without their " +
          "supplementary groups",
      );
    }
    return { program: command.program, args: command.args, ids };
  }
  return {
    program: setpriv,
    args: [
      `--reuid=${ids.uid}`,
      `--regid=${ids.gid}`,
      "--init-groups",
      "--",
      command.program,
      ...command.args,
    ],
  };
}

let warnedNoSetpriv = false;
