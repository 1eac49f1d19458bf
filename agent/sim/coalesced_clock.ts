/**
 * A clock whose sleeps end on a shared grid: every sleep due in the same `tickMs` slot wakes
 * from one timer. Thousands of simulated agents each keep a watchdog, a heartbeat and a retry
 * loop; on this clock they cost one timer per slot instead of one each.
 */
import type { Clock } from "../../base/mod.ts";

interface Sleeper {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Wakes sleepers in batches, at most `tickMs` late. */
export class CoalescedClock implements Clock {
  readonly #tickMs: number;
  readonly #slots = new Map<
    number,
    { sleepers: Set<Sleeper>; timer: ReturnType<typeof setTimeout> }
  >();

  constructor(tickMs = 50) {
    this.#tickMs = tickMs;
  }

  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const now = Date.now();
      const slot = Math.ceil((now + ms) / this.#tickMs) * this.#tickMs;
      let group = this.#slots.get(slot);
      if (!group) {
        const timer = setTimeout(() => this.#wake(slot), Math.max(0, slot - now));
        group = { sleepers: new Set<Sleeper>(), timer };
        this.#slots.set(slot, group);
      }
      const { sleepers } = group;
      const sleeper: Sleeper = { resolve, reject, signal };
      if (signal) {
        sleeper.onAbort = () => {
          sleepers.delete(sleeper);
          // The last sleeper of a slot gone: so is its timer (a stopped agent leaves none).
          if (sleepers.size === 0 && this.#slots.get(slot)?.sleepers === sleepers) {
            clearTimeout(this.#slots.get(slot)!.timer);
            this.#slots.delete(slot);
          }
          reject(signal.reason);
        };
        signal.addEventListener("abort", sleeper.onAbort, { once: true });
      }
      sleepers.add(sleeper);
    });
  }

  #wake(slot: number): void {
    const group = this.#slots.get(slot);
    this.#slots.delete(slot);
    for (const s of group?.sleepers ?? []) {
      if (s.onAbort) s.signal?.removeEventListener("abort", s.onAbort);
      s.resolve();
    }
  }
}
