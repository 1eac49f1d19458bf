/**
 * What Deno 2.9 does not let a TLS server do to its sockets, done on Linux through the socket's
 * descriptor: turn Nagle's algorithm off, and shut down a connection stuck in its handshake.
 *
 * `Deno.listenTls` has no no-delay option and `Deno.TlsConn` no `setNoDelay`, so a response
 * written as more than one TLS record waits for the client's delayed ACK (~40 ms);
 * `setListenerNoDelay` sets `TCP_NODELAY` on the listening socket, which Linux copies to every
 * socket it accepts. A `TlsConn` whose handshake is pending stays open when closed (the pending
 * handshake holds the socket), so a client that never sends a byte would keep it for good;
 * `shutdownConnection` shuts the socket down under it, which ends the handshake.
 *
 * The socket is found the only way Deno leaves open: its entry in `/proc/self/net/tcp*` (by port)
 * and its inode among this process's descriptors (`/proc/self/fd`); libc's `setsockopt` and
 * `shutdown` are called through FFI. Where any of that is missing (not Linux, no FFI or read
 * permission, no libc) both do nothing and return false.
 */

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_RDWR = 2;
const LISTEN = "0A";

const LIBC = {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC>;

/**
 * Sets `TCP_NODELAY` on this process's socket listening on `port`; true when it is set (read
 * back), false when this platform or these permissions do not allow it.
 */
export function setListenerNoDelay(port: number): boolean {
  return withLibc((libc) => {
    const fds = descriptors((f) => f.local === port && f.state === LISTEN);
    if (fds.length === 0) return false;
    const one = new Uint8Array(new Int32Array([1]).buffer);
    const value = new Uint8Array(4);
    const length = new Uint8Array(new Uint32Array([4]).buffer);
    for (const fd of fds) {
      if (libc.symbols.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) !== 0) return false;
      if (libc.symbols.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, value, length) !== 0) return false;
      if (new Int32Array(value.buffer)[0] === 0) return false;
    }
    return true;
  });
}

/**
 * Shuts down (both ways) this process's connection accepted on `localPort` from `remote`; true
 * when one was found and shut down.
 */
export function shutdownConnection(localPort: number, remote: Deno.NetAddr): boolean {
  const address = ipv4Hex(remote.hostname);
  return withLibc((libc) => {
    const fds = descriptors((f) =>
      f.local === localPort && f.remote === remote.port &&
      (address === undefined || f.remoteAddress === address)
    );
    let done = false;
    for (const fd of fds) done = libc.symbols.shutdown(fd, SHUT_RDWR) === 0 || done;
    return done;
  });
}

function withLibc(use: (libc: Libc) => boolean): boolean {
  if (Deno.build.os !== "linux") return false;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  if (Deno.permissions.querySync({ name: "read", path: "/proc" }).state !== "granted") {
    return false;
  }
  let libc: Libc | undefined;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      libc = Deno.dlopen(name, LIBC);
      break;
    } catch { /* try the next name */ }
  }
  if (!libc) return false;
  try {
    return use(libc);
  } finally {
    libc.close();
  }
}

/** One socket of `/proc/net/tcp*`: ports, the remote address as the table writes it, state. */
interface SocketEntry {
  local: number;
  remote: number;
  remoteAddress: string;
  state: string;
}

/** This process's descriptors of the TCP sockets `matches` picks (IPv4 and IPv6). */
function descriptors(matches: (entry: SocketEntry) => boolean): number[] {
  const inodes = new Set<string>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue; // no IPv6 on this host
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      const [localAddress, localPort] = (f[1] ?? "").split(":");
      const [remoteAddress, remotePort] = (f[2] ?? "").split(":");
      if (!localAddress || !localPort || !remoteAddress || !remotePort || !f[9]) continue;
      const entry = {
        local: parseInt(localPort, 16),
        remote: parseInt(remotePort, 16),
        remoteAddress,
        state: f[3] ?? "",
      };
      if (matches(entry)) inodes.add(`socket:[${f[9]}]`);
    }
  }
  const fds: number[] = [];
  if (inodes.size === 0) return fds;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (inodes.has(Deno.readLinkSync(`/proc/self/fd/${entry.name}`))) {
        fds.push(Number(entry.name));
      }
    } catch { /* closed meanwhile */ }
  }
  return fds;
}

/** An IPv4 address as `/proc/net/tcp` writes it (bytes in host order, little-endian here). */
function ipv4Hex(hostname: string): string | undefined {
  const parts = hostname.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
  return parts.reverse().map((p) => p.toString(16).toUpperCase().padStart(2, "0")).join("");
}
