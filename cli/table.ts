/** Plain-text tables for humans: upper-case headers, columns padded with two spaces. */

/** Renders rows under headers; the last column is not padded. Empty cells show as `-`. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => c || "-"))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? "")].length)));
  return cells.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join("  ").trimEnd()
  ).join("\n") + "\n";
}

/** `key: value` lines, keys padded to one width. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join("\n") + "\n";
}

/** A number with at most `digits` decimals, trailing zeros dropped. */
export function num(n: number, digits = 2): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits).replace(/\.?0+$/, "");
}

/** Mebibytes as MiB or GiB. */
export function mib(n: number): string {
  return n >= 1024 ? `${num(n / 1024, 1)}GiB` : `${num(n, 0)}MiB`;
}

/** A duration in seconds as `3d4h`, `5h2m`, `4m10s` or `12s`. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s % 60}s`;
  return `${s}s`;
}
