/**
 * What the driver created and Marathon acknowledged (a 2xx answer): groups, apps, each app's
 * acknowledged versions with the instances and config generation they set, deletions, and the
 * deployments started. A change whose answer never came ("unknown": a failover ate it) may or
 * may not have been applied; the ledger remembers that it came after the last acknowledged one,
 * so the checks only insist on what was acknowledged.
 */

/** One acknowledged change of an app. */
export interface AckedChange {
  /** The app's version Marathon answered with. */
  version: string;
  /** What the app is after it (for a deletion: what it was). */
  instances: number;
  /** `env.GEN`: the config generation (a rolling restart on each change). */
  gen: number;
  deploymentId?: string;
  /** `Date.now()` when the answer came. */
  at: number;
  op: "create" | "scale" | "config" | "restart" | "delete";
}

/** One app as the driver knows it. */
export interface AppRecord {
  id: string;
  /** Acknowledged changes, oldest first. */
  changes: AckedChange[];
  /** Whether an acknowledged deletion is its last acknowledged change. */
  deleted: boolean;
  /** A change with an unknown outcome came after the last acknowledged one. */
  unsure: boolean;
}

/** The driver's record of acknowledged changes. */
export class Ledger {
  readonly groups = new Set<string>();
  readonly #apps = new Map<string, AppRecord>();
  readonly #deployments = new Map<string, { appId: string; at: number }>();

  /** Records an acknowledged change. */
  acked(appId: string, change: AckedChange): void {
    const app = this.#record(appId);
    app.changes.push(change);
    app.deleted = change.op === "delete";
    app.unsure = false;
    if (change.deploymentId) {
      this.#deployments.set(change.deploymentId, { appId, at: change.at });
    }
  }

  /** Records a change whose outcome is unknown. */
  unsure(appId: string): void {
    this.#record(appId).unsure = true;
  }

  /** Records an acknowledged group. */
  group(id: string): void {
    this.groups.add(id);
  }

  /** Every app the driver touched. */
  apps(): AppRecord[] {
    return [...this.#apps.values()];
  }

  /** The app's record, if the driver touched it. */
  app(appId: string): AppRecord | undefined {
    return this.#apps.get(appId);
  }

  /** Ids of the deployments acknowledged at or after `at`. */
  deploymentsSince(at: number): Set<string> {
    return new Set([...this.#deployments].filter(([, d]) => d.at >= at).map(([id]) => id));
  }

  /**
   * Per app, the most `instances` that acknowledged changes since `since` set, or that the
   * change before the first of them left.
   */
  recentInstances(since: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const app of this.#apps.values()) {
      const first = app.changes.findIndex((c) => c.at >= since);
      if (first < 0) continue;
      const counted = app.changes.slice(Math.max(0, first - 1));
      out.set(app.id, Math.max(...counted.map((c) => c.instances)));
    }
    return out;
  }

  /** How many deployments were acknowledged. */
  get deploymentCount(): number {
    return this.#deployments.size;
  }

  #record(appId: string): AppRecord {
    let app = this.#apps.get(appId);
    if (!app) {
      this.#apps.set(appId, app = { id: appId, changes: [], deleted: false, unsure: false });
    }
    return app;
  }
}
