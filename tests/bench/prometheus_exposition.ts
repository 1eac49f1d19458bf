/**
 * Prometheus exposition: ours (`base/prometheus.ts`) against npm `prom-client`, on the same
 * data:
 * - `scrape_gauges`: 50 gauge families × 200 label sets read from state at scrape time, as
 *   every Tender component renders its books (ours: `PrometheusWriter`; prom-client: its
 *   gauges registered once, values `set()` from the same state, then `registry.metrics()`);
 * - `render_gauges`: the same text when prom-client already holds the values (its best case:
 *   `registry.metrics()` alone);
 * - `render_histograms`: 5 histograms × 200 label sets × 13 buckets, observed beforehand;
 * - `observe`: one histogram observation under 3 labels (`HttpMetrics`' path);
 * - `counter_inc`: one labelled counter increment (ours: the field in the caller's state that
 *   the writer reads at scrape, found by key; prom-client: `Counter.inc(labels)`).
 * Then behaviour: both texts parsed by our strict parser must hold the same samples, and the
 * checks of base/prometheus_test.ts (escaping, HELP/TYPE, names, special values) run
 * against both (`*_checks_failed` names the ones failed). Rounds alternate the two; each
 * figure is the median over rounds. Prints `metric value unit` lines.
 *
 *   deno run -A tests/bench/prometheus_exposition.ts [--rounds 11]
 */
import { parseArgs } from "node:util";
import * as client from "npm:prom-client@15.1.3";
import {
  Histogram,
  LATENCY_BUCKETS,
  parsePrometheus,
  PrometheusWriter,
  type Sample,
} from "../../base/mod.ts";

const FAMILIES = 50;
const LABEL_SETS = 200;
const HISTOGRAMS = 5;

/** The state both render from: per family, 200 rows of labels and a value. */
function makeState(): { labels: Record<string, string>; value: number }[][] {
  return Array.from({ length: FAMILIES }, (_, f) =>
    Array.from({ length: LABEL_SETS }, (_, i) => ({
      labels: { app: `/group/app-${i % 40}`, instance: `app-${i}.${f}`, zone: `z${i % 3}` },
      value: i * 1.5 + f,
    })));
}

function oursScrape(state: ReturnType<typeof makeState>): string {
  const w = new PrometheusWriter();
  state.forEach((rows, f) => {
    const samples: Sample[] = rows.map((r) => ({ labels: r.labels, value: r.value }));
    w.gauge(`tender_bench_family_${f}`, `Family ${f} of the benchmark.`, samples);
  });
  return w.text();
}

function promGauges(registry: client.Registry): client.Gauge[] {
  return Array.from({ length: FAMILIES }, (_, f) =>
    new client.Gauge({
      name: `tender_bench_family_${f}`,
      help: `Family ${f} of the benchmark.`,
      labelNames: ["app", "instance", "zone"],
      registers: [registry],
    }));
}

async function promScrape(
  registry: client.Registry,
  gauges: client.Gauge[],
  state: ReturnType<typeof makeState>,
): Promise<string> {
  state.forEach((rows, f) => {
    const g = gauges[f]!;
    g.reset();
    for (const r of rows) g.set(r.labels, r.value);
  });
  return await registry.metrics();
}

function observations(i: number): [number, Record<string, string>] {
  const labels = {
    route: `/v2/apps/:id${i % 20}`,
    method: ["GET", "POST", "PUT", "DELETE"][i % 4]!,
    status: String(200 + (i % 10)),
  };
  return [((i * 7919) % 10007) / 1000, labels];
}

/** The checks of prometheus_test.ts that concern the text, against one renderer. */
async function conformance(
  render: (build: (w: Family) => void) => Promise<string>,
): Promise<string[]> {
  const failed: string[] = [];
  const check = async (name: string, ok: () => Promise<boolean>) => {
    try {
      if (!(await ok())) failed.push(name);
    } catch {
      failed.push(name);
    }
  };
  const rejects = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return false;
    } catch {
      return true;
    }
  };
  await check("help_type_and_samples", async () => {
    const text = await render((w) => {
      w("counter", "tender_offers_total", "Offers by outcome.", [
        { labels: { outcome: "sent" }, value: 3 },
        { labels: { outcome: "declined" }, value: 1 },
      ]);
      w("gauge", "tender_up", "Whether up.", [{ value: 1 }]);
    });
    const p = parsePrometheus(text);
    return p.families.get("tender_offers_total")?.type === "counter" &&
      p.families.get("tender_up")?.help === "Whether up." && p.samples.length === 3;
  });
  await check("escaping", async () => {
    const text = await render((w) =>
      w("gauge", "g", "a \\ back\nslash", [{ labels: { path: 'C:\\x "q"\nz' }, value: 1 }])
    );
    const p = parsePrometheus(text);
    return p.samples[0]!.labels.path === 'C:\\x "q"\nz' &&
      p.families.get("g")!.help === "a \\ back\nslash";
  });
  await check("special_values", async () => {
    const text = await render((w) =>
      w("gauge", "g", "h", [
        { labels: { v: "inf" }, value: Infinity },
        { labels: { v: "-inf" }, value: -Infinity },
        { labels: { v: "nan" }, value: NaN },
      ])
    );
    const p = parsePrometheus(text);
    return p.samples[0]!.value === Infinity && p.samples[1]!.value === -Infinity &&
      Number.isNaN(p.samples[2]!.value);
  });
  await check(
    "refuses_bad_names",
    async () =>
      await rejects(() => render((w) => w("gauge", "1bad", "", [{ value: 1 }]))) &&
      await rejects(() =>
        render((w) => w("gauge", "g", "", [{ labels: { "a-b": "x" }, value: 1 }]))
      ),
  );
  await check("refuses_family_twice", () =>
    rejects(() =>
      render((w) => {
        w("gauge", "g", "", [{ value: 1 }]);
        w("gauge", "g", "", [{ value: 1 }]);
      })
    ));
  return failed;
}

type Family = (type: "counter" | "gauge", name: string, help: string, samples: Sample[]) => void;

function renderOurs(build: (w: Family) => void): Promise<string> {
  const w = new PrometheusWriter();
  build((type, name, help, samples) => w[type](name, help, samples));
  return Promise.resolve(w.text());
}

async function renderProm(build: (w: Family) => void): Promise<string> {
  const registry = new client.Registry();
  build((type, name, help, samples) => {
    const labelNames = [...new Set(samples.flatMap((s) => Object.keys(s.labels ?? {})))];
    if (type === "counter") {
      const c = new client.Counter({ name, help, labelNames, registers: [registry] });
      for (const s of samples) c.inc(s.labels ?? {}, s.value);
    } else {
      const g = new client.Gauge({ name, help, labelNames, registers: [registry] });
      for (const s of samples) g.set(s.labels ?? {}, s.value);
    }
  });
  return await registry.metrics();
}

async function msPerOp(iterations: number, op: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await op();
  return (performance.now() - start) / iterations;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
}

/** Our parser's samples as sorted lines, to compare two texts series by series. */
function sampleLines(text: string): string[] {
  return parsePrometheus(text).samples.map((s) =>
    `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`
  ).sort();
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: { rounds: { type: "string", default: "11" } },
  });
  const rounds = Number(args.values.rounds);
  const state = makeState();
  const registry = new client.Registry();
  const gauges = promGauges(registry);

  // Histograms observed beforehand, the same observations into each.
  const ours = Array.from({ length: HISTOGRAMS }, () => new Histogram(LATENCY_BUCKETS));
  const histRegistry = new client.Registry();
  const theirs = Array.from({ length: HISTOGRAMS }, (_, h) =>
    new client.Histogram({
      name: `tender_bench_latency_${h}_seconds`,
      help: `Latency ${h}.`,
      labelNames: ["route", "method", "status"],
      buckets: [...LATENCY_BUCKETS],
      registers: [histRegistry],
    }));
  for (let h = 0; h < HISTOGRAMS; h++) {
    for (let i = 0; i < LABEL_SETS * 5; i++) {
      const [v] = observations(i);
      const labels = { route: `/r${i % LABEL_SETS}`, method: "GET", status: "200" };
      ours[h]!.observe(v, labels);
      theirs[h]!.observe(labels, v);
    }
  }
  const oursHistText = () => {
    const w = new PrometheusWriter();
    ours.forEach((h, i) =>
      w.histogram(`tender_bench_latency_${i}_seconds`, `Latency ${i}.`, h.samples())
    );
    return w.text();
  };

  // Update paths.
  const liveOurs = new Histogram();
  const liveTheirs = new client.Histogram({
    name: "tender_bench_live_seconds",
    help: "Live.",
    labelNames: ["route", "method", "status"],
    buckets: [...LATENCY_BUCKETS],
    registers: [],
  });
  const inputs = Array.from({ length: 1000 }, (_, i) => observations(i));
  const routeState = new Map<string, { requests: number }>(
    inputs.map(([, l]) => [`${l.route} ${l.method}`, { requests: 0 }]),
  );
  const counter = new client.Counter({
    name: "tender_bench_requests_total",
    help: "Requests.",
    labelNames: ["route", "method"],
    registers: [],
  });

  const ops: Record<string, [() => unknown, () => unknown, number]> = {
    scrape_gauges: [() => oursScrape(state), () => promScrape(registry, gauges, state), 3],
    render_gauges: [() => oursScrape(state), () => registry.metrics(), 3],
    render_histograms: [oursHistText, () => histRegistry.metrics(), 3],
    observe: [() => {
      for (const [v, l] of inputs) liveOurs.observe(v, l);
    }, () => {
      for (const [v, l] of inputs) liveTheirs.observe(l, v);
    }, 20],
    counter_inc: [() => {
      for (const [, l] of inputs) routeState.get(`${l.route} ${l.method}`)!.requests += 1;
    }, () => {
      for (const [, l] of inputs) counter.inc({ route: l.route, method: l.method });
    }, 20],
  };
  const times = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [op, [a, b, n]] of Object.entries(ops)) {
      const pair: [string, () => unknown][] = [["ours", a], ["prom_client", b]];
      for (const [who, f] of r % 2 === 0 ? pair : pair.reverse()) {
        const key = `${op}_${who}`;
        times.set(key, [...(times.get(key) ?? []), await msPerOp(n, f)]);
      }
    }
  }
  for (const op of Object.keys(ops)) {
    const per = op === "observe" || op === "counter_inc" ? inputs.length : 1;
    const unit = per === 1 ? "ms" : "ns/op";
    const scale = per === 1 ? 1 : 1e6 / per;
    const a = median(times.get(`${op}_ours`)!) * scale;
    const b = median(times.get(`${op}_prom_client`)!) * scale;
    const fmt = (x: number) => per === 1 ? x.toFixed(2) : x.toFixed(0);
    console.log(`prom_${op}_ours ${fmt(a)} ${unit}`);
    console.log(`prom_${op}_prom_client ${fmt(b)} ${unit}`);
    console.log(`prom_${op}_prom_client_vs_ours ${(b / a).toFixed(2)} ratio`);
  }

  const same = (x: string[], y: string[]) => JSON.stringify(x) === JSON.stringify(y);
  const gaugeText = await promScrape(registry, gauges, state);
  console.log(`prom_gauges_text_bytes_ours ${oursScrape(state).length} bytes`);
  console.log(`prom_gauges_text_bytes_prom_client ${gaugeText.length} bytes`);
  console.log(
    `prom_gauges_same_samples ${
      same(sampleLines(oursScrape(state)), sampleLines(gaugeText)) ? 1 : 0
    } bool`,
  );
  console.log(
    `prom_histograms_same_samples ${
      same(sampleLines(oursHistText()), sampleLines(await histRegistry.metrics())) ? 1 : 0
    } bool`,
  );
  for (const [who, render] of [["ours", renderOurs], ["prom_client", renderProm]] as const) {
    const failed = await conformance(render);
    console.log(
      `prom_checks_failed_${who} ${failed.length} checks${
        failed.length ? ` # ${failed.join(" ")}` : ""
      }`,
    );
  }
}
