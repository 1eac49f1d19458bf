/** One framework's refuse filters (Mesos "refused resources"), per agent. */
import type { Resources } from "../../protocol/mod.ts";

interface Filter {
  readonly role: string;
  readonly resources: Resources;
  readonly until: number;
}

/** One framework's refuse filters: each hides offers of a subset of what was refused, until then. */
export class RefuseFilters {
  /** agent id -> filters. */
  readonly #byAgent = new Map<string, Filter[]>();

  /** How many agents have filters. */
  get size(): number {
    return this.#byAgent.size;
  }

  /** Refuses (a subset of) `resources` on the agent for the role while `now < until`. */
  add(agentId: string, filter: Filter): void {
    const list = this.#byAgent.get(agentId);
    if (list) list.push(filter);
    else this.#byAgent.set(agentId, [filter]);
  }

  /** Whether a live filter hides `offered` on the agent for the role; drops expired ones. */
  blocks(agentId: string, role: string, offered: Resources, now: number): boolean {
    const list = this.#byAgent.get(agentId);
    if (!list) return false;
    const live = list.filter((f) => f.until > now);
    if (live.length === 0) this.#byAgent.delete(agentId);
    else if (live.length < list.length) this.#byAgent.set(agentId, live);
    return live.some((f) => f.role === role && f.resources.contains(offered));
  }

  /** Clears the filters of these roles, or all of them. */
  clear(roles?: ReadonlySet<string>): void {
    if (!roles) return this.#byAgent.clear();
    for (const [agentId, list] of this.#byAgent) {
      const kept = list.filter((f) => !roles.has(f.role));
      if (kept.length > 0) this.#byAgent.set(agentId, kept);
      else this.#byAgent.delete(agentId);
    }
  }

  /** Forgets an agent's filters (the agent left). */
  dropAgent(agentId: string): void {
    this.#byAgent.delete(agentId);
  }
}
