/**
 * A process's standing in one election, as master and Marathon both hold it: it campaigns,
 * and once elected builds its term (`lead`) — the leader's parts over a store fenced by the
 * leadership; when leadership is lost, abdicated or the process stops, it ends the term at once
 * (`leading()` answers undefined before the term is stopped, so no request meets the old
 * leader's parts), resigns once the term is stopped (so two leaders never act together), and
 * campaigns again. It follows the election meanwhile, so it always knows who leads.
 */
import type { Logger } from "../../base/mod.ts";
import { systemClock } from "../../base/mod.ts";
import { LeadershipLostError } from "../state_store.ts";
import type { Election, Leadership } from "./election.ts";

/** What a term of leadership runs; stopped when the term ends. */
export interface Term {
  stop(): Promise<void>;
}

/** How to stand. */
export interface CandidacyOptions<T extends Term> {
  /** Builds the leader's parts for a new term; a throw resigns and campaigns again. */
  lead: (leadership: Leadership) => Promise<T>;
  log: Logger;
  /** `master`, `Marathon`: for log lines. */
  what: string;
}

/** One process's candidacy in an election. */
export class Candidacy<T extends Term> {
  readonly #election: Election;
  readonly #options: CandidacyOptions<T>;
  readonly #stopping = new AbortController();
  #current: { term: T; abdicated: AbortController } | undefined;
  #leader: string | undefined;
  #trouble: string | undefined;
  #listeners: (() => void)[] = [];
  #loops: Promise<unknown>[] = [];
  #self = "";

  constructor(election: Election, options: CandidacyOptions<T>) {
    this.#election = election;
    this.#options = options;
    election.onTrouble((trouble) => this.#trouble = trouble);
  }

  /** Starts following the election and campaigning as `self` (its URL), in the background. */
  start(self: string): void {
    this.#self = self;
    const { log, what } = this.#options;
    this.#loops.push(
      this.#election.observe((value) => {
        this.#leader = value ?? (this.#current ? self : undefined);
        this.#changed();
      }, this.#stopping.signal).catch((e) => {
        if (!this.#stopping.signal.aborted) {
          log.error(`following the ${what} election failed`, { error: String(e) });
        }
      }),
      this.#campaign(),
    );
  }

  /** The term while this process leads. */
  leading(): T | undefined {
    return this.#current?.term;
  }

  /** The leader's value (URL) as last seen; this process's while it leads. */
  leader(): string | undefined {
    return this.#leader;
  }

  /** Why no term could be had lately (etcd unreachable, no quorum, recovery failed). */
  trouble(): string | undefined {
    return this.#trouble;
  }

  /** Calls `listen` each time `leader()` or `leading()` may have changed. */
  onChange(listen: () => void): void {
    this.#listeners.push(listen);
  }

  /** Resolves the next time this process leads (at once while it does). */
  elected(): Promise<T> {
    const current = this.#current;
    if (current) return Promise.resolve(current.term);
    return new Promise((resolve) => {
      const listen = () => {
        if (!this.#current) return;
        this.#listeners = this.#listeners.filter((l) => l !== listen);
        resolve(this.#current.term);
      };
      this.onChange(listen);
    });
  }

  /** Gives up leadership (it campaigns again); false when it did not lead. */
  abdicate(): boolean {
    if (!this.#current) return false;
    this.#current.abdicated.abort(new Error("leadership abdicated"));
    return true;
  }

  /** Ends the term (resigning, so another takes over at once) and stops campaigning. */
  async stop(): Promise<void> {
    this.#stopping.abort(new Error(`${this.#options.what} stopping`));
    await Promise.all(this.#loops);
    this.#listeners = [];
  }

  async #campaign(): Promise<void> {
    const { log, what } = this.#options;
    const self = this.#self;
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      let leadership: Leadership;
      try {
        leadership = await this.#election.campaign(self, stopping);
      } catch (e) {
        if (stopping.aborted) break;
        this.#trouble = e instanceof Error ? e.message : String(e);
        log.warn("campaign failed; trying again", { error: this.#trouble });
        await systemClock.sleep(500, stopping).catch(() => {});
        continue;
      }
      let term: T;
      try {
        term = await this.#options.lead(leadership);
        this.#trouble = undefined;
      } catch (e) {
        this.#trouble = `could not take the lead: ${e instanceof Error ? e.message : e}`;
        log.error(`${what}: could not take the lead; resigning`, { error: this.#trouble });
        await leadership.resign().catch(() => {});
        await systemClock.sleep(500, stopping).catch(() => {});
        continue;
      }
      const abdicated = new AbortController();
      const ended = AbortSignal.any([leadership.signal, stopping, abdicated.signal]);
      if (!ended.aborted) {
        this.#current = { term, abdicated };
        this.#leader = self;
        this.#changed();
        log.info(`elected leading ${what}`, { url: self });
        await aborted(ended);
        // Stop acting as leader before anything else: from here requests meet the standby.
        this.#current = undefined;
        if (this.#leader === self) this.#leader = undefined;
        this.#changed();
      }
      if (abdicated.signal.aborted) log.info("abdicating", { url: self });
      else if (!stopping.aborted) {
        log.warn("lost leadership; standing by", { reason: String(leadership.signal.reason) });
      }
      await term.stop().catch((e) => {
        if (!(e instanceof LeadershipLostError)) {
          log.warn("stopping the leader", { error: String(e) });
        }
      });
      // Resigned only once stopped, so two leaders never act at once.
      if (!leadership.signal.aborted) await leadership.resign().catch(() => {});
    }
  }

  #changed(): void {
    for (const listen of [...this.#listeners]) listen();
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
