/**
 * Marathon's scheduling flags for `deno task marathon`: the service-port range
 * (`--local-port-min/--local-port-max`, Marathon's `--local_port_min/--local_port_max`) and how
 * often task states are reconciled with the master (`--reconciliation-interval`, Marathon's
 * `--reconciliation_interval`, here in seconds like every Tender duration flag), and the role it
 * registers with (`--mesos-role`, Marathon's `--mesos_role`).
 */
import { usageError } from "../../base/mod.ts";
import type { ServicePortRange } from "./placement/service_ports.ts";
import { DEFAULT_RECONCILIATION_INTERVAL_MS } from "./scheduler/marathon_scheduler.ts";

/** The flags, to spread into `parseFlags()`'s options. */
export const SCHEDULING_FLAGS = {
  "local-port-min": { type: "string" },
  "local-port-max": { type: "string" },
  "reconciliation-interval": { type: "string" },
  "mesos-role": { type: "string" },
} as const;

/** Their part of the usage text. */
export const SCHEDULING_USAGE = "[--local-port-min 10000] [--local-port-max 20000] " +
  "[--reconciliation-interval SECS (600): reconcile task states with the master this often] " +
  "[--mesos-role ROLE (*): the role Marathon registers with and reserves for resident apps] ";

/** Mesos' role names: no `.`/`..` segment, no leading `-`, no whitespace, `/`-separated. */
const ROLE = /^(?!-)(?!.*(^|\/)\.\.?(\/|$))[^\s\/]+(\/[^\s\/]+)*$/;

/** The default service-port range (Marathon's). */
export const DEFAULT_SERVICE_PORTS: ServicePortRange = { min: 10000, max: 20000 };

/** The options the flags give `startMarathon()`; exits 2 naming the flag when one is bad. */
export function schedulingOptions(
  args: { [K in keyof typeof SCHEDULING_FLAGS]?: string },
  usage: string,
): { servicePorts: ServicePortRange; reconciliationIntervalMs: number; role: string } {
  const port = (name: "local-port-min" | "local-port-max", fallback: number) => {
    const text = args[name];
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < 1 || n > 65535) {
      usageError(`--${name} must be a port number from 1 to 65535, got "${text}"`, usage);
    }
    return n;
  };
  const min = port("local-port-min", DEFAULT_SERVICE_PORTS.min);
  const max = port("local-port-max", DEFAULT_SERVICE_PORTS.max);
  if (min > max) {
    usageError(`--local-port-min (${min}) must not be above --local-port-max (${max})`, usage);
  }
  const interval = args["reconciliation-interval"];
  let reconciliationIntervalMs = DEFAULT_RECONCILIATION_INTERVAL_MS;
  if (interval !== undefined) {
    const seconds = Number(interval);
    if (interval.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
      usageError(
        `--reconciliation-interval must be a positive number of seconds, got "${interval}"`,
        usage,
      );
    }
    reconciliationIntervalMs = seconds * 1000;
  }
  const role = args["mesos-role"] ?? "*";
  if (role !== "*" && !ROLE.test(role)) {
    usageError(`--mesos-role must be a Mesos role name, got "${role}"`, usage);
  }
  return { servicePorts: { min, max }, reconciliationIntervalMs, role };
}
