/** Picks a task's resources out of an offer; "does not fit" is a value, never an exception. */
import { formatRanges, type Offer, type Resource, Resources, runsImages } from "../protocol/mod.ts";
import { portRanges } from "./task_builder.ts";

/** What one task needs. Scalars in Mesos units (cpus, MiB); `ports` is how many host ports. */
export interface Demand {
  cpus: number;
  mem: number;
  disk?: number;
  ports?: number;
  /**
   * The task runs an image (a `docker` task spec): only offers of agents whose `containerizers`
   * attribute names one that runs images fit (an agent that does not say is assumed to).
   */
  image?: boolean;
}

/** The outcome of a pick: the chosen resources and ports and what is left, or why not. */
export type Pick =
  | { ok: true; resources: Resource[]; ports: number[]; remaining: Resources }
  | { ok: false; reason: string };

/** All the resources of an offer, summed by name. */
export function offerResources(offer: Offer): Resources {
  return Resources.fromMesos(offer.resources);
}

/** An offer's attribute as text (`rack:r1` → "r1"), or undefined when the agent has none. */
export function attributeText(offer: Offer, name: string): string | undefined {
  const a = offer.attributes.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.type === "TEXT") return a.text?.value;
  if (a.type === "SCALAR") return a.scalar ? String(a.scalar.value) : undefined;
  if (a.type === "SET") return a.set?.item.join(",");
  return a.ranges ? formatRanges(a.ranges.range) : undefined;
}

/**
 * Takes `demand` out of an offer, or out of the `remaining` of an earlier pick, so that one
 * offer can be packed with several tasks. Chooses the lowest free ports.
 */
export function pickResources(
  from: Offer | Resources,
  demand: Demand,
  options: { allocationRole?: string } = {},
): Pick {
  const available = from instanceof Resources ? from : offerResources(from);
  const where = from instanceof Resources ? "the remaining resources" : `offer "${from.id.value}"`;
  if (demand.image && !(from instanceof Resources) && !runsImages(from.attributes)) {
    return { ok: false, reason: `${where} is from an agent that runs no images` };
  }
  const role = options.allocationRole ??
    (from instanceof Resources ? undefined : from.allocation_info?.role);
  const short: string[] = [];
  const scalars = { cpus: demand.cpus, mem: demand.mem, disk: demand.disk ?? 0 };
  for (const [name, need] of Object.entries(scalars)) {
    if (!(need >= 0)) return { ok: false, reason: `demand of ${name} must be >= 0, got ${need}` };
    const want = Resources.scalars({ [name]: need });
    if (!available.contains(want)) short.push(`${name} ${need} (has ${available.scalar(name)})`);
  }
  const ports = lowestPorts(available, demand.ports ?? 0);
  if (ports.length < (demand.ports ?? 0)) short.push(`${demand.ports} ports (has ${ports.length})`);
  if (short.length > 0) return { ok: false, reason: `${where} is short of ${short.join(", ")}` };
  const taken = Resources.scalars(scalars).add(Resources.ranges("ports", portRanges(ports)));
  return {
    ok: true,
    resources: taken.toMesos(role),
    ports,
    remaining: available.subtract(taken),
  };
}

/** Packs tasks into one offer: each successful `pick` shrinks what is left. */
export class OfferPicker {
  readonly offer: Offer;
  #remaining: Resources;
  #picks = 0;

  constructor(offer: Offer) {
    this.offer = offer;
    this.#remaining = offerResources(offer);
  }

  /** What no pick has taken yet. */
  get remaining(): Resources {
    return this.#remaining;
  }

  /** How many picks succeeded: 0 means the offer can be declined whole. */
  get picks(): number {
    return this.#picks;
  }

  /** Takes `demand` from what is left, or says why it does not fit (leaving it unchanged). */
  pick(demand: Demand): Pick {
    if (demand.image && !runsImages(this.offer.attributes)) {
      const reason = `offer "${this.offer.id.value}" is from an agent that runs no images`;
      return { ok: false, reason };
    }
    const role = this.offer.allocation_info?.role;
    const result = pickResources(this.#remaining, demand, role ? { allocationRole: role } : {});
    if (!result.ok) {
      return {
        ok: false,
        reason: result.reason.replace(
          "the remaining resources",
          `offer "${this.offer.id.value}" (after ${this.#picks} tasks)`,
        ),
      };
    }
    this.#remaining = result.remaining;
    this.#picks += 1;
    return result;
  }
}

function lowestPorts(available: Resources, count: number): number[] {
  const out: number[] = [];
  for (const r of available.ranges("ports")) {
    for (let p = r.begin; p <= r.end && out.length < count; p++) out.push(p);
    if (out.length >= count) break;
  }
  return out;
}
