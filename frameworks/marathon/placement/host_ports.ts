/**
 * Host port selection from an offer's `ports` ranges: `0` takes any free port (lowest first,
 * so placement is deterministic), a non-zero request (requirePorts, fixed hostPort) takes
 * exactly that port.
 */
import type { Range } from "../../../protocol/mod.ts";

/** The chosen host ports in request order, or why they cannot be had. */
export type PortPick = { ok: true; ports: number[] } | { ok: false; reason: string };

/** Picks one host port per request from `available` (sorted, disjoint ranges). */
export function pickHostPorts(requests: readonly number[], available: readonly Range[]): PortPick {
  const taken = new Set<number>();
  const has = (p: number) => available.some((r) => r.begin <= p && p <= r.end);
  for (const p of requests) {
    if (p === 0) continue;
    if (!has(p)) return { ok: false, reason: `InsufficientPorts: port ${p} is not offered` };
    if (taken.has(p)) return { ok: false, reason: `InsufficientPorts: port ${p} requested twice` };
    taken.add(p);
  }
  const out: number[] = [];
  const free = freePorts(available, taken);
  for (const p of requests) {
    if (p !== 0) {
      out.push(p);
      continue;
    }
    const next = free.next();
    if (next.done) {
      return { ok: false, reason: `InsufficientPorts: ${requests.length} ports needed` };
    }
    out.push(next.value);
  }
  return { ok: true, ports: out };
}

function* freePorts(ranges: readonly Range[], taken: ReadonlySet<number>): Generator<number> {
  for (const r of ranges) {
    for (let p = r.begin; p <= r.end; p++) if (!taken.has(p)) yield p;
  }
}
