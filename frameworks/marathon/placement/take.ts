/**
 * Taking amounts out of an offer whose resources may be reserved: what a task or a RESERVE must
 * name is the offered pieces themselves (same reservations), never a bare "cpus: 1" when the
 * offer's cpus are reserved. Pure.
 */
import { type ResourceMeta, Resources, toMilli } from "../../../protocol/mod.ts";

/** Resources Marathon may use for an ordinary (non-resident) task, as Marathon's matcher does. */
export function usableForTasks(name: string, meta: ResourceMeta): boolean {
  // Volumes and labelled reservations belong to resident instances (Marathon's reservation
  // labels); unlabelled reservations for the role (static ones) are free to use.
  return !meta.disk && meta.reservations.every((r) => (r.labels?.labels.length ?? 0) === 0) &&
    name.length > 0;
}

/**
 * `scalars` (whole units by name) and the host `ports` taken out of `have`, piece by piece:
 * reserved pieces first (Mesos offers them for the role to use), then unreserved ones.
 * Undefined when `have` holds too little.
 */
export function takeResources(
  have: Resources,
  scalars: Record<string, number>,
  ports: readonly number[] = [],
): Resources | undefined {
  const parts = have.parts().sort((a, b) =>
    b.meta.reservations.length - a.meta.reservations.length
  );
  let out = Resources.empty();
  for (const [name, amount] of Object.entries(scalars)) {
    let left = toMilli(amount);
    for (const part of parts) {
      if (left <= 0) break;
      if (part.name !== name) continue;
      const milli = Math.min(left, part.resources.scalarMilli(name));
      if (milli <= 0) continue;
      out = out.add(Resources.scalars({ [name]: milli / 1000 }).withMeta(() => part.meta));
      left -= milli;
    }
    if (left > 0) return undefined;
  }
  for (const port of ports) {
    const part = parts.find((p) =>
      p.name === "ports" &&
      p.resources.ranges("ports").some((r) => r.begin <= port && port <= r.end)
    );
    if (!part) return undefined;
    out = out.add(
      Resources.ranges("ports", [{ begin: port, end: port }]).withMeta(() => part.meta),
    );
  }
  return out;
}
