/**
 * Cron schedules with time zones, on croner (a maintained library; we write no cron parser).
 * Five fields as Metronome (`min hour dom month dow`), or six with seconds first (`sec min …`,
 * a Tender extension for short steps); day of month and day of week combine with OR, as in
 * Vixie cron.
 */
import { Cron } from "croner";

/** A parsed cron expression in one IANA time zone. */
export class CronSchedule {
  readonly #cron: Cron;

  private constructor(readonly expression: string, readonly timezone: string) {
    this.#cron = new Cron(expression, { timezone, paused: true, mode: "auto" });
  }

  /** The schedule, or why the expression or the zone cannot be used. */
  static parse(
    expression: string,
    timezone: string,
  ): { ok: true; cron: CronSchedule } | { ok: false; field: "cron" | "timezone"; reason: string } {
    if (!isTimeZone(timezone)) {
      return {
        ok: false,
        field: "timezone",
        reason: `No time zone found with this id: "${timezone}"`,
      };
    }
    const parts = expression.trim().split(/\s+/);
    if (!expression.trim().startsWith("@") && (parts.length < 5 || parts.length > 6)) {
      return {
        ok: false,
        field: "cron",
        reason: `Can not read cron expression "${expression}": 5 fields (or 6, seconds first)`,
      };
    }
    let cron: CronSchedule;
    try {
      cron = new CronSchedule(expression, timezone);
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^CronPattern: /, "") : String(e);
      return {
        ok: false,
        field: "cron",
        reason: `Can not read cron expression "${expression}": ${why}`,
      };
    }
    if (cron.nextAfter(0) === undefined) {
      return {
        ok: false,
        field: "cron",
        reason: `Cron expression "${expression}" never fires: day of the month must exist in ` +
          "the provided month (e.g. February has only <= 29 days so running cron on Feb 30 is invalid)",
      };
    }
    return { ok: true, cron };
  }

  /** The first time strictly after `ms` (epoch milliseconds), or undefined when none. */
  nextAfter(ms: number): number | undefined {
    return this.#cron.nextRun(new Date(ms))?.getTime();
  }

  /**
   * The ticks in (`after`, `now`]: the latest of them and how many there were (counted up to
   * `limit`, beyond which `count` is `limit`). Undefined when none is due.
   */
  due(after: number, now: number, limit = 10_000): { latest: number; count: number } | undefined {
    let next = this.nextAfter(after);
    if (next === undefined || next > now) return undefined;
    let latest = next;
    let count = 0;
    while (next !== undefined && next <= now && count < limit) {
      latest = next;
      count += 1;
      next = this.nextAfter(next);
    }
    if (count >= limit && next !== undefined && next <= now) {
      // Long down time with a short step: jump to the last tick at or before now.
      const previous = this.#cron.previousRuns(1, new Date(now + 1))[0]?.getTime();
      if (previous !== undefined && previous > latest) latest = previous;
    }
    return { latest, count };
  }
}

/** Whether the runtime knows `zone` as an IANA time zone (or `UTC`). */
export function isTimeZone(zone: string): boolean {
  if (zone === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
