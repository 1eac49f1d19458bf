/** The master's outstanding offers, indexed by id, agent and framework. */
import type { Resources } from "../../protocol/mod.ts";

/** One outstanding offer: an allocation tendered to a framework, not yet accepted or declined. */
export interface OfferRecord {
  id: string;
  frameworkId: string;
  agentId: string;
  role: string;
  resources: Resources;
  createdAt: number;
}

/** Outstanding offers. An offer id can be taken once only. */
export class OfferBook {
  /** In insertion order, which is creation order while `#monotonic` holds. */
  readonly #byId = new Map<string, OfferRecord>();
  readonly #byAgent = new Map<string, Set<string>>();
  readonly #byFramework = new Map<string, Set<string>>();
  #lastCreatedAt = -Infinity;
  /** Whether every offer was added no earlier than the one before, so expiry can stop early. */
  #monotonic = true;

  /** Adds an offer; throws if the id exists. */
  add(offer: OfferRecord): void {
    if (this.#byId.has(offer.id)) throw new Error(`Offer "${offer.id}" already exists`);
    this.#byId.set(offer.id, offer);
    index(this.#byAgent, offer.agentId, offer.id);
    index(this.#byFramework, offer.frameworkId, offer.id);
    if (offer.createdAt < this.#lastCreatedAt) this.#monotonic = false;
    this.#lastCreatedAt = offer.createdAt;
  }

  /** The offer, if outstanding. */
  get(id: string): OfferRecord | undefined {
    return this.#byId.get(id);
  }

  /** Removes and returns the offer; undefined if unknown or already taken. */
  take(id: string): OfferRecord | undefined {
    const offer = this.#byId.get(id);
    if (!offer) return undefined;
    this.#byId.delete(id);
    unindex(this.#byAgent, offer.agentId, id);
    unindex(this.#byFramework, offer.frameworkId, id);
    if (this.#byId.size === 0) {
      this.#monotonic = true;
      this.#lastCreatedAt = -Infinity;
    }
    return offer;
  }

  /** Outstanding offers on an agent. */
  forAgent(agentId: string): OfferRecord[] {
    return this.#lookup(this.#byAgent.get(agentId));
  }

  /** Outstanding offers to a framework. */
  forFramework(frameworkId: string): OfferRecord[] {
    return this.#lookup(this.#byFramework.get(frameworkId));
  }

  /** Offers created at or before now - timeoutMs. */
  expired(now: number, timeoutMs: number): OfferRecord[] {
    const cutoff = now - timeoutMs;
    const out: OfferRecord[] = [];
    for (const offer of this.#byId.values()) {
      if (offer.createdAt <= cutoff) out.push(offer);
      else if (this.#monotonic) break;
    }
    return out;
  }

  /** How many offers are outstanding. */
  get size(): number {
    return this.#byId.size;
  }

  /** Every outstanding offer, oldest added first. */
  all(): Iterable<OfferRecord> {
    return this.#byId.values();
  }

  #lookup(ids: Set<string> | undefined): OfferRecord[] {
    const out: OfferRecord[] = [];
    for (const id of ids ?? []) out.push(this.#byId.get(id)!);
    return out;
  }
}

function index(map: Map<string, Set<string>>, key: string, id: string): void {
  let ids = map.get(key);
  if (!ids) map.set(key, ids = new Set());
  ids.add(id);
}

function unindex(map: Map<string, Set<string>>, key: string, id: string): void {
  const ids = map.get(key);
  if (!ids) return;
  ids.delete(id);
  if (ids.size === 0) map.delete(key);
}
