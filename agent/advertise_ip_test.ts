import assert from "node:assert/strict";
import {
  type AddressProbe,
  advertiseIp,
  bindAddress,
  ipv4,
  parseRoutes,
  routeSource,
} from "./advertise_ip.ts";

const ROUTES = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
br1	00000A0A	00000000	0001	0	0	0	0000FFFF	0	0	0
down0	0000000B	00000000	0000	0	0	0	000000FF	0	0	0
`;

function iface(name: string, address: string, netmask: string): Deno.NetworkInterfaceInfo {
  return { name, family: "IPv4", address, netmask, scopeid: null, cidr: `${address}/x`, mac: "" };
}

const INTERFACES = [
  iface("lo", "127.0.0.1", "255.0.0.0"),
  iface("eth0", "192.0.2.2", "255.255.255.0"),
  iface("br1", "10.10.213.7", "255.255.0.0"),
];

/** A machine where connections fail, or come from `connected`. */
function probe(connected?: string): AddressProbe & { dialed: string[] } {
  const dialed: string[] = [];
  return {
    dialed,
    connectFrom: (host, port) => {
      dialed.push(`${host}:${port}`);
      return connected ? Promise.resolve(connected) : Promise.reject(new Error("refused"));
    },
    routes: () => Promise.resolve(parseRoutes(ROUTES)),
    interfaces: () => INTERFACES,
  };
}

Deno.test("parseRoutes() reads /proc/net/route's little-endian hex and skips routes that are down", () => {
  const routes = parseRoutes(ROUTES);
  assert.deepEqual(routes.map((r) => r.iface), ["eth0", "eth0", "br1"]);
  assert.equal(routes[1]!.destination, ipv4("192.0.2.0"));
  assert.equal(routes[1]!.mask, ipv4("255.255.255.0"));
  assert.equal(routes[2]!.destination, ipv4("10.10.0.0"));
});

Deno.test("routeSource() takes the longest matching route's interface address", () => {
  const routes = parseRoutes(ROUTES);
  assert.equal(routeSource(ipv4("10.10.1.5")!, routes, INTERFACES), "10.10.213.7");
  assert.equal(routeSource(ipv4("192.0.2.9")!, routes, INTERFACES), "192.0.2.2");
  // Anything else goes the default route's way.
  assert.equal(routeSource(ipv4("203.0.113.1")!, routes, INTERFACES), "192.0.2.2");
  assert.equal(routeSource(ipv4("203.0.113.1")!, routes.slice(1), INTERFACES), undefined);
});

Deno.test("advertiseIp() is 127.0.0.1 only for a master on loopback", async () => {
  const p = probe("10.10.213.7");
  assert.equal(await advertiseIp(["http://127.0.0.1:5050"], { probe: p }), "127.0.0.1");
  assert.equal(await advertiseIp(["http://localhost:5050"], { probe: p }), "127.0.0.1");
  assert.deepEqual(p.dialed, []);
});

Deno.test("advertiseIp() takes the local address of a connection to the first master that answers", async () => {
  const p = probe("10.10.213.7");
  const ip = await advertiseIp(["http://m1.example:5050", "http://10.10.0.2:5050"], { probe: p });
  assert.equal(ip, "10.10.213.7");
  assert.deepEqual(p.dialed, ["m1.example:5050"]);
});

Deno.test("advertiseIp() falls back to the route's source address while no master answers", async () => {
  const p = probe();
  const masters = ["http://m1.example:5050", "http://10.10.0.2:5050", "http://10.10.0.3:5050"];
  assert.equal(await advertiseIp(masters, { probe: p }), "10.10.213.7");
  assert.equal(p.dialed.length, 3);
  // Only names: the default route's way.
  assert.equal(await advertiseIp(["http://m1.example:5050"], { probe: p }), "192.0.2.2");
});

Deno.test("bindAddress() binds the advertised address when it is the machine's, else every interface", () => {
  assert.equal(bindAddress("10.10.213.7", INTERFACES), "10.10.213.7");
  assert.equal(bindAddress("127.0.0.1", INTERFACES), "127.0.0.1");
  // An address behind NAT.
  assert.equal(bindAddress("198.51.100.4", INTERFACES), "0.0.0.0");
});
