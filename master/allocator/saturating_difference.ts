/** `a` minus whatever of `b` it holds, never throwing: the allocator's tolerant subtraction. */
import type { Range } from "../../protocol/mesos.ts";
import { Resources } from "../../protocol/resources.ts";

/**
 * `a` minus the part of `b` that `a` contains: scalars floor at zero, ranges and sets lose only
 * the items they have. Used where books may disagree (an agent re-registered smaller than
 * what runs on it, a recovery of more than was allocated).
 */
export function saturatingDifference(a: Resources, b: Resources): Resources {
  if (a.contains(b)) return a.subtract(b);
  return a.subtract(intersection(a, b));
}

/** What `a` and `b` have in common, kind by kind (names of different kinds have nothing). */
export function intersection(a: Resources, b: Resources): Resources {
  let out = Resources.empty();
  for (const name of b.names()) {
    const kind = a.kind(name);
    if (kind === undefined || kind !== b.kind(name)) continue;
    if (kind === "SCALAR") {
      const milli = Math.min(a.scalarMilli(name), b.scalarMilli(name));
      out = out.add(Resources.scalars({ [name]: milli / 1000 }));
    } else if (kind === "RANGES") {
      out = out.add(Resources.ranges(name, intersectRanges(a.ranges(name), b.ranges(name))));
    } else {
      const items = a.set(name).filter((i) => b.set(name).includes(i));
      if (items.length > 0) {
        out = out.add(Resources.fromMesos([{ name, type: "SET", set: { item: items } }]));
      }
    }
  }
  return out;
}

/** Both inputs sorted and disjoint, as `Resources` keeps them. */
function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!, y = b[j]!;
    const begin = Math.max(x.begin, y.begin), end = Math.min(x.end, y.end);
    if (begin <= end) out.push({ begin, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}
