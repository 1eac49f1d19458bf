/**
 * Files only their owner reads: KV stores (they hold task environments and credentials) and the
 * work dirs that hold them.
 */

/** Whether a path names a file on this machine (not `:memory:` or a remote KV URL). */
function isLocalFile(path: string): boolean {
  return path !== ":memory:" && !path.includes("://");
}

/**
 * Makes a work dir (and its parents) and gives it `mode` (default 0700: its owner's alone);
 * a dir that exists already gets the mode too.
 */
export async function privateDir(path: string, mode = 0o700): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode });
  await Deno.chmod(path, mode);
}

/**
 * Opens (creating if needed) a Deno KV file readable by its owner only (0600). The file is
 * made 0600 before SQLite opens it, because SQLite gives the `-wal` and `-shm` files it creates
 * the database's mode (the WAL holds the latest writes); files an older version left readable
 * are narrowed first.
 */
export async function openPrivateKv(path: string): Promise<Deno.Kv> {
  if (isLocalFile(path)) {
    try {
      await Deno.writeFile(path, new Uint8Array(0), { createNew: true, mode: 0o600 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      await Deno.chmod(file, 0o600).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }
  return await Deno.openKv(path);
}
