/**
 * Where an agent is reached. By default it advertises the local address of its route to the
 * master (what the kernel picks as the source address of a connection there), so that agents on
 * many machines need no `--advertise-ip`; 127.0.0.1 only when the master is on loopback. It
 * binds its API and publishes task ports on that address when it is one of its own, on every
 * interface otherwise (an address behind NAT).
 */

/** What `advertiseIp()` needs from the machine; tests pass fakes. */
export interface AddressProbe {
  /** The local address of a TCP connection to `host:port`; throws when none is made. */
  connectFrom(host: string, port: number, timeoutMs: number): Promise<string>;
  /** The kernel's IPv4 routes (`/proc/net/route`), or undefined where there is no such file. */
  routes(): Promise<Route[] | undefined>;
  /** The machine's interface addresses. */
  interfaces(): Deno.NetworkInterfaceInfo[];
}

/** One IPv4 route: destination and mask as numbers, its interface and metric. */
export interface Route {
  iface: string;
  destination: number;
  mask: number;
  metric: number;
}

/** Whether a host name or address is the loopback one. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** An IPv4 address as a number, or undefined when `text` is not one. */
export function ipv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** Parses `/proc/net/route` (hex fields in host byte order: little-endian on Linux' hosts). */
export function parseRoutes(text: string): Route[] {
  const le = (hex: string) => {
    const n = parseInt(hex, 16);
    return (((n & 0xff) << 24) >>> 0) + ((n >>> 8) & 0xff) * 65536 + ((n >>> 16) & 0xff) * 256 +
      ((n >>> 24) & 0xff);
  };
  return text.split("\n").slice(1).flatMap((line) => {
    const f = line.trim().split(/\s+/);
    const flags = parseInt(f[3] ?? "0", 16);
    if (f.length < 8 || (flags & 1) === 0) return []; // not up
    return [{ iface: f[0]!, destination: le(f[1]!), mask: le(f[7]!), metric: Number(f[6]) }];
  });
}

/**
 * The source address the kernel would choose towards `destination`: the longest matching
 * route's interface (lowest metric on a tie), and that interface's address in the destination's
 * subnet, else its first IPv4 address. Undefined when no route matches.
 */
export function routeSource(
  destination: number,
  routes: readonly Route[],
  interfaces: readonly Deno.NetworkInterfaceInfo[],
): string | undefined {
  const bits = (mask: number) => mask.toString(2).replace(/0/g, "").length;
  const best = routes
    .filter((r) => ((destination & r.mask) >>> 0) === ((r.destination & r.mask) >>> 0))
    .sort((a, b) => bits(b.mask) - bits(a.mask) || a.metric - b.metric)[0];
  if (!best) return undefined;
  const own = interfaces.filter((i) => i.name === best.iface && i.family === "IPv4");
  const inSubnet = own.find((i) => {
    const address = ipv4(i.address), mask = ipv4(i.netmask);
    return address !== undefined && mask !== undefined &&
      ((address & mask) >>> 0) === ((destination & mask) >>> 0);
  });
  return (inSubnet ?? own[0])?.address;
}

/** The real machine: TCP connections, `/proc/net/route`, `Deno.networkInterfaces()`. */
export const systemProbe: AddressProbe = {
  async connectFrom(host, port, timeoutMs) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({ hostname: host, port });
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const conn = await Promise.race([connecting, expired]);
      const local = (conn.localAddr as Deno.NetAddr).hostname;
      conn.close();
      return local;
    } finally {
      clearTimeout(timer);
      // A connection made after the deadline is closed, not leaked.
      connecting.then((c) => c.close(), () => {}).catch(() => {});
    }
  },
  async routes() {
    try {
      return parseRoutes(await Deno.readTextFile("/proc/net/route"));
    } catch {
      return undefined;
    }
  },
  interfaces: () => Deno.networkInterfaces(),
};

/**
 * The address to advertise for masters at `masterUrls`: 127.0.0.1 when the first master is on
 * loopback; else the local address of a connection to the first master that accepts one; else
 * (none answers yet) the source address of the kernel's route to the first master named by
 * IPv4 address, or of the default route; 127.0.0.1 only when the machine has nothing else.
 */
export async function advertiseIp(
  masterUrls: readonly string[],
  options: { probe?: AddressProbe; timeoutMs?: number } = {},
): Promise<string> {
  const probe = options.probe ?? systemProbe;
  const targets = masterUrls.map((u) => new URL(u)).map((u) => ({
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
  }));
  if (targets[0] && isLoopback(targets[0].host)) return "127.0.0.1";
  for (const { host, port } of targets) {
    if (isLoopback(host)) continue;
    try {
      const local = await probe.connectFrom(host, port, options.timeoutMs ?? 2000);
      if (!isLoopback(local)) return local.replace(/^::ffff:/, "");
    } catch {
      // Not up yet, or not reachable: the routing table still says which way it is.
    }
  }
  const routes = (await probe.routes()) ?? [];
  const interfaces = probe.interfaces();
  for (const { host } of targets) {
    const destination = ipv4(host);
    if (destination === undefined) continue;
    const source = routeSource(destination, routes, interfaces);
    if (source) return source;
  }
  return routeSource(0, routes, interfaces) ??
    interfaces.find((i) => i.family === "IPv4" && !isLoopback(i.address))?.address ??
    "127.0.0.1";
}

/**
 * What the agent binds its API and publishes task ports on: the advertised address when it is
 * one of this machine's (or loopback), else every interface (an address behind NAT).
 */
export function bindAddress(
  advertised: string,
  interfaces: readonly Deno.NetworkInterfaceInfo[],
): string {
  if (isLoopback(advertised) || interfaces.some((i) => i.address === advertised)) {
    return advertised;
  }
  return "0.0.0.0";
}
