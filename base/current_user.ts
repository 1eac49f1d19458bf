/**
 * The name of the Unix user this process runs as, for frameworks' default `FrameworkInfo.user`
 * (Marathon's `--mesos_user` defaults to it): tasks run as that user on agents that switch users.
 */

/**
 * The user name of this process's uid from `/etc/passwd`; else `$USER`; else the uid as text.
 * Never "root" for a process that is not root (a process without `$USER` claimed root before).
 */
export function currentUserName(): string {
  const uid = Deno.uid();
  if (uid === null) return Deno.env.get("USER") || "root";
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id === String(uid)) return name;
    }
  } catch { /* no /etc/passwd: fall back */ }
  return Deno.env.get("USER") || String(uid);
}
