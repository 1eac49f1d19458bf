import assert from "node:assert/strict";
import {
  escapeLabelValue,
  findSample,
  formatValue,
  Histogram,
  HttpMetrics,
  parsePrometheus,
  PrometheusWriter,
} from "./prometheus.ts";

Deno.test("PrometheusWriter.text() writes HELP, TYPE and labelled samples", () => {
  const text = new PrometheusWriter()
    .counter("tender_offers_total", "Offers by outcome.", [
      { labels: { outcome: "sent" }, value: 3 },
      { labels: { outcome: "declined" }, value: 1 },
    ])
    .gauge("tender_up", "Whether up.", 1)
    .text();
  assert.equal(
    text,
    [
      "# HELP tender_offers_total Offers by outcome.",
      "# TYPE tender_offers_total counter",
      'tender_offers_total{outcome="sent"} 3',
      'tender_offers_total{outcome="declined"} 1',
      "# HELP tender_up Whether up.",
      "# TYPE tender_up gauge",
      "tender_up 1",
      "",
    ].join("\n"),
  );
});

Deno.test("PrometheusWriter escapes label values and help text per the format", () => {
  const text = new PrometheusWriter()
    .gauge("g", "a \\ back\nslash", [{ labels: { path: 'C:\\x "q"\nz' }, value: 1 }])
    .text();
  assert.match(text, /^# HELP g a \\\\ back\\nslash$/m);
  assert.match(text, /^g\{path="C:\\\\x \\"q\\"\\nz"\} 1$/m);
  const parsed = parsePrometheus(text);
  assert.equal(parsed.samples[0]!.labels.path, 'C:\\x "q"\nz');
  assert.equal(parsed.families.get("g")!.help, "a \\ back\nslash");
});

Deno.test("PrometheusWriter refuses bad names and families written twice", () => {
  assert.throws(() => new PrometheusWriter().gauge("1bad", "", 1), /metric name/);
  assert.throws(
    () => new PrometheusWriter().gauge("g", "", [{ labels: { "a-b": "x" }, value: 1 }]),
    /label name/,
  );
  assert.throws(() => new PrometheusWriter().gauge("g", "", 1).gauge("g", "", 1), /twice/);
});

Deno.test("formatValue() and escapeLabelValue() spell special values", () => {
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(0.25), "0.25");
  assert.equal(escapeLabelValue('a"b'), 'a\\"b');
});

Deno.test("Histogram.samples() renders cumulative buckets, +Inf, sum and count", () => {
  const h = new Histogram([0.1, 1]);
  h.observe(0.05, { route: "/a" });
  h.observe(0.5, { route: "/a" });
  h.observe(3, { route: "/a" });
  h.observe(0.2, { route: "/b" });
  const text = new PrometheusWriter().histogram("lat_seconds", "Latency.", h.samples()).text();
  const parsed = parsePrometheus(text);
  assert.equal(findSample(parsed, "lat_seconds_bucket", { route: "/a", le: "0.1" }), 1);
  assert.equal(findSample(parsed, "lat_seconds_bucket", { route: "/a", le: "1" }), 2);
  assert.equal(findSample(parsed, "lat_seconds_bucket", { route: "/a", le: "+Inf" }), 3);
  assert.equal(findSample(parsed, "lat_seconds_count", { route: "/a" }), 3);
  assert.equal(findSample(parsed, "lat_seconds_sum", { route: "/a" }), 3.55);
  assert.equal(findSample(parsed, "lat_seconds_count", { route: "/b" }), 1);
  assert.equal(parsed.families.get("lat_seconds")!.type, "histogram");
});

Deno.test("Histogram keys series by label set regardless of key order", () => {
  const h = new Histogram([1]);
  h.observe(0.5, { a: "1", b: "2" });
  h.observe(0.5, { b: "2", a: "1" });
  assert.equal(h.samples().length, 1);
  assert.equal(h.samples()[0]!.count, 2);
  assert.throws(() => new Histogram([1, 1]), /ascend/);
});

Deno.test("parsePrometheus() reads timestamps, comments and special values", () => {
  const parsed = parsePrometheus(
    [
      "# a plain comment",
      "# TYPE x gauge",
      'x{a="1",b="2",} +Inf 1700000000000',
      "y -Inf",
      "z NaN",
      "",
    ].join("\n"),
  );
  assert.equal(findSample(parsed, "x", { a: "1" }), Infinity);
  assert.equal(findSample(parsed, "y"), -Infinity);
  assert.ok(Number.isNaN(findSample(parsed, "z")!));
  assert.equal(findSample(parsed, "missing"), undefined);
});

Deno.test("parsePrometheus() refuses malformed text", () => {
  const bad = [
    "x 1", // no final line feed
    "x{a=1} 1\n",
    'x{a="1} 1\n',
    "x one\n",
    "x 1\nx 1\n",
    'x{a="\\q"} 1\n',
    "x 1\n# TYPE x gauge\n",
    '# TYPE x histogram\nx_bucket{le="1"} 1\n',
    '# TYPE x histogram\nx_bucket{le="1"} 2\nx_bucket{le="+Inf"} 1\n',
    "# TYPE x widget\n",
  ];
  for (const text of bad) assert.throws(() => parsePrometheus(text), Error, text);
});

Deno.test("findSample() refuses an ambiguous match", () => {
  const parsed = parsePrometheus('x{a="1"} 1\nx{a="2"} 2\n');
  assert.throws(() => findSample(parsed, "x"), /2 series/);
  assert.equal(findSample(parsed, "x", { a: "2" }), 2);
});

Deno.test("HttpMetrics.middleware() times requests by route pattern, method and status", async () => {
  const { Hono } = await import("hono");
  let now = 0;
  const http = new HttpMetrics(() => now);
  const app = new Hono();
  app.use(http.middleware());
  app.get("/apps/:id", (c) => {
    now += 250;
    return c.text(c.req.param("id"));
  });
  app.post("/apps", (c) => c.text("no", 422));
  await app.request("/apps/a");
  await app.request("/apps/b");
  await app.request("/apps", { method: "POST" });
  await app.request("/nowhere");
  const writer = new PrometheusWriter();
  http.write(writer, "t");
  const parsed = parsePrometheus(writer.text());
  const count = (labels: Record<string, string>) =>
    findSample(parsed, "t_http_request_duration_seconds_count", labels);
  assert.equal(count({ route: "/apps/:id", method: "GET", status: "200" }), 2);
  assert.equal(
    findSample(parsed, "t_http_request_duration_seconds_sum", { route: "/apps/:id" }),
    0.5,
  );
  assert.equal(count({ route: "/apps", method: "POST", status: "422" }), 1);
  assert.equal(count({ route: "unmatched", method: "GET", status: "404" }), 1);
});

Deno.test("PrometheusWriter.histogram() writes unlabelled buckets and checks label names", () => {
  const h = new Histogram([1]);
  h.observe(0.5);
  const text = new PrometheusWriter().histogram("h_seconds", "H.", h.samples()).text();
  assert.match(text, /^h_seconds_bucket\{le="1"\} 1$/m);
  assert.match(text, /^h_seconds_bucket\{le="\+Inf"\} 1$/m);
  assert.match(text, /^h_seconds_sum 0\.5$/m);
  const bad = new Histogram([1]);
  bad.observe(1, { "bad-name": "x" });
  assert.throws(() => new PrometheusWriter().histogram("b", "", bad.samples()), /label name/);
  assert.throws(
    () => new PrometheusWriter().gauge("g", "", [{ labels: { __reserved: "x" }, value: 1 }]),
    /label name/,
  );
});
