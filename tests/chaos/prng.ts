/**
 * A seeded pseudo-random generator (mulberry32): the same seed draws the same faults, delays
 * and driver operations, so a failing run can be replayed with `--seed N`. Independent streams
 * (`fork("faults")`, `fork("driver")`) keep the fault plan the same whatever the driver draws.
 */

/** A 32-bit hash of a string (FNV-1a), to derive a stream's seed from a label. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Numbers drawn from one seed. */
export class Prng {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Prng.pick() needs at least one item");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One key of `[key, weight]` pairs, drawn with those weights (positive numbers). */
  weighted<K>(entries: readonly (readonly [K, number])[]): K {
    if (entries.length === 0) throw new Error("Prng.weighted() needs at least one entry");
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let draw = this.next() * total;
    for (const [key, weight] of entries) {
      draw -= weight;
      if (draw < 0) return key;
    }
    return entries.at(-1)![0];
  }

  /** An independent stream for `label`, the same for the same seed and label. */
  fork(label: string): Prng {
    return new Prng((this.seed ^ hash(label)) >>> 0);
  }
}
