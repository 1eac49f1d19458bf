/**
 * The Prometheus text exposition format (version 0.0.4): a writer for counters, gauges and
 * histograms with labels, a live `Histogram` to observe into, `HttpMetrics` (a hono
 * middleware timing requests by route), and a strict parser for tests.
 */
import type { MiddlewareHandler } from "hono";

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** The metric types Tender exposes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One value of a counter or gauge. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** One labelled histogram: cumulative counts per upper bound (`le`), sum and count. */
export interface HistogramSample {
  labels?: Labels;
  /** Upper bounds, ascending, without +Inf. */
  bounds: readonly number[];
  /** Cumulative count of observations <= each bound. */
  cumulative: readonly number[];
  sum: number;
  count: number;
}

/** The content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Formats a sample value: integers plainly, `+Inf`, `-Inf`, `NaN` as the format spells them. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Label names already found valid: a scrape writes the same few names thousands of times. */
const validLabelNames = new Set<string>();

/** `k="v",…` without braces; throws on an invalid label name. */
function formatPairs(labels: Labels | undefined): string {
  let out = "";
  if (labels === undefined) return out;
  for (const name of Object.keys(labels)) {
    if (!validLabelNames.has(name)) {
      if (!LABEL_NAME.test(name) || name.startsWith("__")) {
        throw new Error(`Invalid Prometheus label name "${name}"`);
      }
      if (validLabelNames.size < 10_000) validLabelNames.add(name);
    }
    out += `${out === "" ? "" : ","}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return out;
}

function formatLabels(labels: Labels | undefined): string {
  const pairs = formatPairs(labels);
  return pairs === "" ? "" : `{${pairs}}`;
}

/** Builds one exposition text, a family at a time; each family name may appear once. */
export class PrometheusWriter {
  readonly #lines: string[] = [];
  readonly #names = new Set<string>();

  /** A counter family; by convention its name ends in `_total`. */
  counter(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.#simple(name, help, "counter", samples);
  }

  /** A gauge family. */
  gauge(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.#simple(name, help, "gauge", samples);
  }

  /** A histogram family: `_bucket{le}` series, `_sum` and `_count` per labelled histogram. */
  histogram(name: string, help: string, samples: readonly HistogramSample[]): this {
    this.#header(name, help, "histogram");
    for (const h of samples) {
      const pairs = formatPairs(h.labels);
      const own = pairs === "" ? "" : `{${pairs}}`;
      const le = pairs === "" ? '{le="' : `{${pairs},le="`;
      h.bounds.forEach((bound, i) => {
        this.#lines.push(
          `${name}_bucket${le}${formatValue(bound)}"} ${formatValue(h.cumulative[i] ?? 0)}`,
        );
      });
      this.#lines.push(`${name}_bucket${le}+Inf"} ${h.count}`);
      this.#lines.push(`${name}_sum${own} ${formatValue(h.sum)}`);
      this.#lines.push(`${name}_count${own} ${h.count}`);
    }
    return this;
  }

  /** The exposition text, ending in a line feed. */
  text(): string {
    return this.#lines.length === 0 ? "" : `${this.#lines.join("\n")}\n`;
  }

  #simple(name: string, help: string, type: MetricType, samples: number | readonly Sample[]) {
    this.#header(name, help, type);
    const list = typeof samples === "number" ? [{ value: samples }] : samples;
    for (const s of list) {
      this.#lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
    return this;
  }

  #header(name: string, help: string, type: MetricType): void {
    if (!METRIC_NAME.test(name)) throw new Error(`Invalid Prometheus metric name "${name}"`);
    if (this.#names.has(name)) throw new Error(`Metric family "${name}" written twice`);
    this.#names.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }
}

/** Default latency buckets in seconds (1 ms to 10 s). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A live histogram with labels: observe values, then render its samples. */
export class Histogram {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number }>();

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error("Histogram bounds must ascend");
    }
  }

  /** Records one observation under these labels. */
  observe(value: number, labels: Labels = {}): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1));
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: { ...labels }, counts: new Array(this.bounds.length + 1).fill(0), sum: 0 };
      this.#series.set(key, series);
    }
    const slot = this.bounds.findIndex((b) => value <= b);
    series.counts[slot === -1 ? this.bounds.length : slot]! += 1;
    series.sum += value;
  }

  /** The samples for `PrometheusWriter.histogram`. */
  samples(): HistogramSample[] {
    return [...this.#series.values()].map((s) => {
      const cumulative: number[] = [];
      let running = 0;
      for (let i = 0; i < this.bounds.length; i++) cumulative.push(running += s.counts[i]!);
      return {
        labels: s.labels,
        bounds: this.bounds,
        cumulative,
        sum: s.sum,
        count: running + s.counts[this.bounds.length]!,
      };
    });
  }
}

/** Records each request's duration (until its response starts) under its route pattern. */
export class HttpMetrics {
  readonly durations = new Histogram();
  readonly #now: () => number;

  /** `now` in milliseconds; defaults to `performance.now`. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * The hono middleware. Hono runs handlers in registration order, so it times the routes
   * registered after it; requests no route matched are labelled `route="unmatched"`.
   */
  middleware(): MiddlewareHandler {
    const self: MiddlewareHandler = async (c, next) => {
      const start = this.#now();
      await next();
      // The route that answered (hono's routeIndex after the chain ran); when that is
      // middleware on every path (this one, the request guard), no route matched.
      const answered = c.req.matchedRoutes[c.req.routeIndex];
      const route = answered === undefined || answered.handler === self ||
          (answered.method === "ALL" && answered.path === "/*")
        ? "unmatched"
        : c.req.routePath;
      this.durations.observe((this.#now() - start) / 1000, {
        route,
        method: c.req.method,
        status: String(c.res.status),
      });
    };
    return self;
  }

  /** Writes the `http_request_duration_seconds` family. */
  write(writer: PrometheusWriter, prefix: string): void {
    writer.histogram(
      `${prefix}_http_request_duration_seconds`,
      "HTTP request durations (until the response starts) by route pattern, method and status.",
      this.durations.samples(),
    );
  }
}

/** A parsed series. */
export interface ParsedSample {
  /** The series name, e.g. `http_request_duration_seconds_bucket`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: families by name and every sample in order. */
export interface ParsedExposition {
  families: Map<string, { type: string; help: string }>;
  samples: ParsedSample[];
}

const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/**
 * Parses the text format strictly (throws on any malformed line, a sample outside its
 * declared family, duplicated series, or histogram buckets that are not cumulative).
 */
export function parsePrometheus(text: string): ParsedExposition {
  const families = new Map<string, { type: string; help: string }>();
  const samples: ParsedSample[] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  if (text !== "" && lines.at(-1) !== "") throw new Error("Exposition must end with a line feed");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) return; // plain comment
      const kind = m[1]!, name = m[2]!, rest = m[3]!;
      const family = families.get(name) ?? { type: "untyped", help: "" };
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type "${rest}"`);
        if (samples.some((s) => familyOf(s.name, families) === name)) {
          throw new Error(`${where}: TYPE of "${name}" after its samples`);
        }
        family.type = rest;
      } else family.help = unescapeHelp(rest, where);
      families.set(name, family);
      return;
    }
    const sample = parseSampleLine(line, where);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: duplicated series ${line}`);
    seen.add(key);
    samples.push(sample);
  });
  checkHistograms(families, samples);
  return { families, samples };
}

function familyOf(series: string, families: Map<string, { type: string }>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = series.slice(0, -suffix.length);
    if (series.endsWith(suffix) && families.get(base)?.type === "histogram") return base;
  }
  return series;
}

function parseSampleLine(line: string, where: string): ParsedSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
  if (!m) throw new Error(`${where}: malformed sample "${line}"`);
  const rawLabels = m[2];
  return {
    name: m[1]!,
    labels: rawLabels ? parseLabels(rawLabels, where) : {},
    value: parseValue(m[3]!, where),
  };
}

function parseValue(raw: string, where: string): number {
  if (raw === "+Inf" || raw === "Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return NaN;
  const value = Number(raw);
  if (raw === "" || Number.isNaN(value)) throw new Error(`${where}: bad value "${raw}"`);
  return value;
}

function parseLabels(raw: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = raw.slice(1, -1);
  while (rest.length > 0) {
    const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(rest);
    if (!m) throw new Error(`${where}: malformed labels "${raw}"`);
    let j = m[0].length;
    let value = "";
    for (;; j++) {
      const ch = rest[j];
      if (ch === undefined) throw new Error(`${where}: unterminated label value in "${raw}"`);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = rest[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`${where}: bad escape "\\${next}" in "${raw}"`);
      } else value += ch;
    }
    const name = m[1]!;
    if (name in labels) throw new Error(`${where}: label "${name}" repeated`);
    labels[name] = value;
    rest = rest.slice(j + 1).replace(/^\s*,?/, "");
  }
  return labels;
}

function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.)/g, (_, ch: string) => {
    if (ch === "n") return "\n";
    if (ch === "\\") return ch;
    throw new Error(`${where}: bad escape "\\${ch}"`);
  });
}

function checkHistograms(
  families: Map<string, { type: string }>,
  samples: ParsedSample[],
): void {
  for (const [name, family] of families) {
    if (family.type !== "histogram") continue;
    const groups = new Map<string, { le: number; value: number }[]>();
    for (const s of samples) {
      if (s.name !== `${name}_bucket`) continue;
      if (s.labels.le === undefined) throw new Error(`${name}_bucket without "le"`);
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const list = groups.get(key) ?? [];
      list.push({ le: parseValue(le, name), value: s.value });
      groups.set(key, list);
    }
    for (const [key, buckets] of groups) {
      buckets.sort((a, b) => a.le - b.le);
      if (buckets.at(-1)?.le !== Infinity) throw new Error(`${name}${key}: no +Inf bucket`);
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i]!.value < buckets[i - 1]!.value) {
          throw new Error(`${name}${key}: buckets are not cumulative`);
        }
      }
    }
  }
}

/** The value of the one series with this name whose labels include `labels`; else undefined. */
export function findSample(
  parsed: ParsedExposition,
  name: string,
  labels: Labels = {},
): number | undefined {
  const hits = parsed.samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (hits.length > 1) throw new Error(`${hits.length} series of "${name}" match`);
  return hits[0]?.value;
}
