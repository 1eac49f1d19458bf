/**
 * Which LIKE/UNLIKE patterns Marathon accepts. JavaScript's regex engine backtracks, so a
 * pattern such as `(a+)+$` takes exponential time on a 30-character attribute, and each offer
 * runs every constraint. Rather than run patterns under a timeout (impossible for a synchronous
 * `RegExp.test` without a worker per match), patterns whose backtracking can explode are
 * refused when the app is submitted:
 * - a repeated group (`*`, `+`, `{n,m}`; `?` is fine) that holds a quantifier or an alternation
 *   — nested or ambiguous repetition, the source of exponential time;
 * - backreferences and lookarounds;
 * - more than `MAX_UNBOUNDED` unbounded quantifiers (`a*a*a*a*` is polynomial of that degree);
 * - patterns longer than `MAX_PATTERN`.
 * What is left matches in polynomial time of low degree, and `fullMatch` matches values of at
 * most `MAX_SUBJECT` characters (longer never match), so a match is bounded.
 */

/** Characters of a pattern. */
export const MAX_PATTERN = 256;
/** Characters of a value a pattern is matched against. */
export const MAX_SUBJECT = 512;
/** Unbounded quantifiers in one pattern. */
export const MAX_UNBOUNDED = 3;

interface Group {
  repeats: boolean; // holds a quantifier or an alternation
}

/** Why `pattern` may take super-linear time to match, or undefined when it is safe. */
export function unsafeRegexReason(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN) return `is longer than ${MAX_PATTERN} characters`;
  const stack: Group[] = [{ repeats: false }];
  let unbounded = 0;
  let lastGroup: Group | undefined; // the group just closed, if the previous atom was one
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    let closed: Group | undefined;
    if (c === "\\") {
      const next = pattern[i + 1] ?? "";
      if (/[1-9]/.test(next) || next === "k") return "uses a backreference";
      i++;
    } else if (c === "[") {
      // A character class: skip to its end (escapes inside included).
      i++;
      if (pattern[i] === "^") i++;
      if (pattern[i] === "]") i++;
      while (i < pattern.length && pattern[i] !== "]") {
        if (pattern[i] === "\\") i++;
        i++;
      }
    } else if (c === "(") {
      if (pattern.startsWith("(?=", i) || pattern.startsWith("(?!", i)) return "uses a lookahead";
      if (pattern.startsWith("(?<=", i) || pattern.startsWith("(?<!", i)) {
        return "uses a lookbehind";
      }
      stack.push({ repeats: false });
    } else if (c === ")") {
      closed = stack.pop();
      if (closed === undefined || stack.length === 0) return "has an unbalanced ')'";
      if (closed.repeats) stack[stack.length - 1]!.repeats = true;
    } else if (c === "|") {
      top.repeats = true;
    } else if (c === "*" || c === "+" || c === "{") {
      let bounded = false;
      if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
        if (!m) continue; // a literal brace
        bounded = m[2] === undefined || m[3] !== "";
        i += m[0].length - 1;
      }
      if (!bounded) unbounded++;
      if (unbounded > MAX_UNBOUNDED) {
        return `has more than ${MAX_UNBOUNDED} unbounded quantifiers`;
      }
      if (lastGroup?.repeats) return "repeats a group that itself repeats or alternates";
      top.repeats = true;
    } else if (c === "?") {
      // Optional, or a lazy marker: repeats nothing.
    }
    lastGroup = closed;
  }
  if (stack.length !== 1) return "has an unbalanced '('";
  return undefined;
}
