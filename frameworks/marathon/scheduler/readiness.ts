/**
 * Readiness checks (Marathon's `readinessChecks`, at most one per app): Marathon polls each new
 * running instance over HTTP(S) on the named port until it answers one of
 * `httpStatusCodesForReady`; only then does the instance count for a deployment.
 */
import type { App } from "../app/normalize.ts";
import { declaredPorts } from "../app/ports.ts";
import type { Instance } from "../model/instance.ts";

/**
 * The URL to probe for an instance, or undefined when its port cannot be known. On a named
 * container network the task's own address there (its status's) and the container port, which
 * answer wherever that network is routed; otherwise the agent's address and the host port.
 */
export function readinessUrl(app: App, instance: Instance): string | undefined {
  const check = app.readinessChecks[0];
  if (!check) return undefined;
  const ports = declaredPorts(app);
  const index = ports.findIndex((p) => p.name === check.portName);
  if (index < 0) return undefined;
  const hostIndex = ports.slice(0, index).filter((p) => p.hostPort !== undefined).length;
  const onNetwork = app.networks.some((n) => n.mode === "container");
  const port = ports[index]!.hostPort !== undefined && !onNetwork
    ? instance.hostPorts[hostIndex]
    : ports[index]!.containerPort;
  const host = instance.ipAddress ?? instance.hostname;
  if (port === undefined || host === undefined) return undefined;
  const path = check.path.startsWith("/") ? check.path : `/${check.path}`;
  return `${check.protocol.toLowerCase()}://${host}:${port}${path}`;
}

/** Whether an instance is due for a readiness probe at `now`. */
export function readinessDue(app: App, instance: Instance, now: number): boolean {
  const check = app.readinessChecks[0];
  if (
    !check || instance.condition !== "Running" || instance.goal !== "Running" ||
    instance.ready === true
  ) {
    return false;
  }
  return instance.readinessProbedAt === undefined ||
    now - instance.readinessProbedAt >= check.intervalSeconds * 1000;
}

/** Probes once: true when the answer's status is one of the app's ready codes. */
export async function probeReadiness(app: App, instance: Instance): Promise<boolean> {
  const check = app.readinessChecks[0];
  const url = readinessUrl(app, instance);
  if (!check || !url) return false;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(check.timeoutSeconds * 1000) });
    await res.body?.cancel();
    return check.httpStatusCodesForReady.includes(res.status);
  } catch {
    return false;
  }
}
