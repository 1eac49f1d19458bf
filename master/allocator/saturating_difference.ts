/** `a` minus whatever of `b` it holds, never throwing: the allocator's tolerant subtraction. */
import type { Resources } from "../../protocol/mod.ts";

/**
 * `a` minus the part of `b` that `a` contains: scalars floor at zero, ranges and sets lose only
 * the items they have. Used where books may disagree (an agent re-registered smaller than
 * what runs on it, a recovery of more than was allocated).
 */
export function saturatingDifference(a: Resources, b: Resources): Resources {
  if (a.contains(b)) return a.subtract(b);
  return a.subtract(intersection(a, b));
}

/**
 * What `a` and `b` have in common, key by key (a reserved cpu is not an unreserved one; names of
 * different kinds have nothing).
 */
export function intersection(a: Resources, b: Resources): Resources {
  return a.intersect(b);
}
