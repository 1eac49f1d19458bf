import assert from "node:assert/strict";
import { CronSchedule, isTimeZone } from "./cron.ts";

const at = (iso: string) => Date.parse(iso);

function schedule(expression: string, zone = "UTC"): CronSchedule {
  const parsed = CronSchedule.parse(expression, zone);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.cron;
}

Deno.test("CronSchedule.nextAfter() honours the time zone", () => {
  const nine = schedule("0 9 * * *", "America/Chicago");
  // 09:00 in Chicago is 15:00 UTC in winter (CST, -6).
  assert.equal(nine.nextAfter(at("2024-01-10T00:00:00Z")), at("2024-01-10T15:00:00Z"));
  // And 14:00 UTC in summer (CDT, -5).
  assert.equal(nine.nextAfter(at("2024-07-10T00:00:00Z")), at("2024-07-10T14:00:00Z"));
});

Deno.test("CronSchedule.nextAfter() is strictly after, with a seconds field", () => {
  const everyTwo = schedule("*/2 * * * * *");
  assert.equal(everyTwo.nextAfter(at("2024-01-01T00:00:00Z")), at("2024-01-01T00:00:02Z"));
  assert.equal(everyTwo.nextAfter(at("2024-01-01T00:00:01.500Z")), at("2024-01-01T00:00:02Z"));
});

Deno.test("CronSchedule.due() gives the latest due tick and how many were due", () => {
  const minutely = schedule("* * * * *");
  assert.equal(minutely.due(at("2024-01-01T00:00:00Z"), at("2024-01-01T00:00:59Z")), undefined);
  assert.deepEqual(minutely.due(at("2024-01-01T00:00:00Z"), at("2024-01-01T00:03:10Z")), {
    latest: at("2024-01-01T00:03:00Z"),
    count: 3,
  });
});

Deno.test("CronSchedule.due() jumps over a long gap of short steps", () => {
  const everySecond = schedule("* * * * * *");
  const due = everySecond.due(at("2024-01-01T00:00:00Z"), at("2024-01-02T00:00:00Z"), 100);
  assert.equal(due?.latest, at("2024-01-02T00:00:00Z"));
  assert.equal(due?.count, 100);
});

Deno.test("CronSchedule.parse() refuses bad expressions, zones and impossible dates", () => {
  const bad = (e: string, z = "UTC") => {
    const r = CronSchedule.parse(e, z);
    return r.ok ? undefined : r;
  };
  assert.equal(bad("61 * * * *")?.field, "cron");
  assert.equal(bad("* * * *")?.field, "cron");
  assert.equal(bad("* * * * *", "Mars/Olympus")?.field, "timezone");
  assert.match(bad("0 0 31 2 *")?.reason ?? "", /never fires/);
  assert.equal(bad("@hourly"), undefined);
});

Deno.test("isTimeZone() knows IANA names and UTC", () => {
  assert.ok(isTimeZone("UTC"));
  assert.ok(isTimeZone("Europe/Berlin"));
  assert.ok(!isTimeZone("Nowhere/City"));
});
