/**
 * One chaos run: the cluster (chaos_cluster.ts) starts, the driver deploys without end, the
 * sampler checks capacity all along, and the planned faults are injected one at a time, each
 * followed by a wait for the cluster to converge. After the last fault the driver stops and the
 * final checks run: convergence within 30 s, deployments finished, nothing acknowledged lost,
 * every view of every task in agreement. The cluster is closed whatever happens.
 *
 * ```
 *   plan (seed) ─▶ fault ─▶ repair ─▶ converged? ─▶ … ─▶ last fault ─▶ driver stops
 *   driver ─────────────── changes through any Marathon ─────────────────┘       │
 *   sampler ── capacity, every 0.5 s ─────────────────────────────────────────── final checks
 * ```
 */
import { ChaosCluster, type Snapshot } from "./chaos_cluster.ts";
import { checkDeploymentsDone, checkNothingLost, type FinalStore } from "./check_store.ts";
import { checkTasks } from "./check_tasks.ts";
import { convergence } from "./convergence.ts";
import { Driver } from "./driver.ts";
import { planFaults } from "./fault_plan.ts";
import { FaultInjector, type FaultResult } from "./faults.ts";
import { Ledger } from "./ledger.ts";
import { MarathonClient } from "./marathon_client.ts";
import { Prng } from "./prng.ts";
import { formatReport, type RunFigures } from "./report.ts";
import { Sampler } from "./sampler.ts";
import { MarathonAppsSchema, MarathonDeploymentsSchema, MarathonGroupSchema } from "./views.ts";
import type { Violation } from "./violation.ts";
import { z } from "zod";

/** Options of a run. */
export interface ChaosOptions {
  seed: number;
  faults: number;
  /** Stop injecting after this many minutes (the fault in progress is the last). */
  minutes?: number;
  /** The masters' `--agent-timeout` (default 3 s). */
  agentTimeoutSeconds?: number;
  /** Where progress lines go (default stdout). */
  log?: (line: string) => void;
  /** Where node logs are written when the run found violations (default none). */
  logDir?: string;
}

/** What a run found. */
export interface ChaosResult {
  figures: RunFigures;
  violations: Violation[];
  faults: FaultResult[];
  /** The report, as printed (its summary line last but the violations). */
  report: string[];
}

/** How long the cluster may take to converge after the last fault. */
export const FINAL_CONVERGENCE_MS = 30_000;
/** How long deployments still running at the end get to finish before they count as stuck. */
const DEPLOYMENTS_FINISH_MS = 60_000;
/** How long a fault's convergence is waited for before the next fault anyway. */
const FAULT_CONVERGENCE_MS = 60_000;

const VersionsSchema = z.object({ versions: z.array(z.string()) });

/** Runs the chaos suite once. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const agentTimeoutSeconds = options.agentTimeoutSeconds ?? 3;
  const prng = new Prng(options.seed);
  const plan = planFaults(prng.fork("faults"), options.faults, {
    agentTimeoutMs: agentTimeoutSeconds * 1000,
  });
  log(`chaos: seed ${options.seed}, ${plan.length} faults planned; starting the cluster`);
  const chaos = await ChaosCluster.start({ agentTimeoutSeconds });
  const violations: Violation[] = [];
  const faults: FaultResult[] = [];
  const convergenceMs: number[] = [];
  let finalConvergenceMs: number | undefined;
  const ledger = new Ledger();
  const client = new MarathonClient(() => chaos.marathonUrls);
  const driver = new Driver(client, ledger, prng.fork("driver"), { log });
  const injector = new FaultInjector(chaos);
  const sampler = new Sampler(chaos, ledger, () => injector.cutAgents);
  const stopDriver = new AbortController();
  let driving: Promise<void> | undefined;
  const agents = chaos.agents.map((a) => a.name);
  /** Records violations found during the run, and says so at once. */
  const note = (...found: Violation[][]) => {
    for (const v of found.flat()) {
      violations.push(v);
      log(`  ! [${v.check}] ${v.message}`);
    }
  };
  try {
    await driver.setUp();
    log(`chaos: cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s; faults begin`);
    sampler.start();
    driving = driver.run(stopDriver.signal);
    const deadline = options.minutes === undefined ? Infinity : started + options.minutes * 60_000;
    for (const planned of plan) {
      await new Promise((r) => setTimeout(r, planned.gapMs));
      const last = planned.index === plan.length || Date.now() >= deadline;
      const result = await injector.run(planned, last ? () => stopDriver.abort() : undefined);
      faults.push(result);
      note(result.problems, await chaos.supervise());
      if (last) break;
      const converged = await waitConverged(sampler, {
        agents,
        excused: () => ledger.deploymentsSince(result.repairedAt),
        since: result.repairedAt,
        timeoutMs: FAULT_CONVERGENCE_MS,
      });
      const tookMs = converged.at === undefined ? undefined : converged.at - result.repairedAt;
      if (tookMs !== undefined) convergenceMs.push(tookMs);
      note(await chaos.supervise());
      const outcome = tookMs === undefined
        ? `not converged in ${FAULT_CONVERGENCE_MS / 1000} s: ${converged.waiting.join("; ")}`
        : `converged in ${(tookMs / 1000).toFixed(1)} s` +
          // A slow one says what it waited for last.
          (tookMs > 10_000 ? ` (it waited for: ${converged.waiting.join("; ")})` : "");
      log(
        `fault ${planned.index}/${plan.length}: ${result.description}${
          failovers(result)
        } — ${outcome}`,
      );
    }
    stopDriver.abort();
    await driving;
    const lastFault = faults.at(-1);
    const lastRepair = lastFault?.repairedAt ?? Date.now();
    if (lastFault) {
      log(
        `fault ${lastFault.index}/${plan.length} (last): ${lastFault.description}${
          failovers(lastFault)
        }`,
      );
    }

    // The end: converged within 30 s of the last fault, and deployments finishing after.
    const final = await waitConverged(sampler, {
      agents,
      since: lastRepair,
      timeoutMs: FINAL_CONVERGENCE_MS - (Date.now() - lastRepair),
    });
    if (final.at !== undefined) {
      finalConvergenceMs = final.at - lastRepair;
      log(`chaos: converged ${(finalConvergenceMs / 1000).toFixed(1)} s after the last fault`);
    } else {
      violations.push({
        check: "convergence",
        message: `not converged ${FINAL_CONVERGENCE_MS / 1000} s after the last fault: ${
          final.waiting.join("; ")
        }`,
      });
      const late = await waitConverged(sampler, { agents, since: Date.now(), timeoutMs: 60_000 });
      log(
        late.at !== undefined
          ? `chaos: converged late, ${
            ((late.at - lastRepair) / 1000).toFixed(1)
          } s after the last fault`
          : `chaos: still not converged ${
            ((Date.now() - lastRepair) / 1000).toFixed(0)
          } s after the last fault`,
      );
    }
    note(await chaos.supervise());
    // "Every deployment finished, or still progressing and finishing once faults stop": one the
    // driver began just before it stopped may still run; give it DEPLOYMENTS_FINISH_MS.
    let store = await readFinalStore(client);
    for (const until = Date.now() + DEPLOYMENTS_FINISH_MS; Date.now() < until;) {
      if (store && store.deployments.length === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
      store = await readFinalStore(client);
    }
    if (store) {
      violations.push(...checkDeploymentsDone(store), ...checkNothingLost(ledger, store));
    } else {
      violations.push({
        check: "availability",
        message: "Marathon did not answer the final reads",
      });
    }
    violations.push(...await finalTaskCheck(chaos, sampler.firstSeen));
    await sampler.stop();
    violations.push(...sampler.capacity.violations());
  } catch (e) {
    violations.push({
      check: "availability",
      message: `the run stopped: ${e instanceof Error ? e.message.split("\n")[0] : e}`,
    });
  } finally {
    stopDriver.abort();
    await driving?.catch(() => {});
    await sampler.stop().catch(() => {});
    if (violations.length > 0 && options.logDir) await writeLogs(chaos, faults, options.logDir);
    await chaos.close();
  }
  const figures: RunFigures = {
    seed: options.seed,
    faultsInjected: faults.length,
    faultsSurvived: convergenceMs.length + (finalConvergenceMs !== undefined ? 1 : 0),
    convergenceMs: [
      ...convergenceMs,
      ...(finalConvergenceMs !== undefined ? [finalConvergenceMs] : []),
    ],
    finalConvergenceMs,
    masterFailoverMs: faults.flatMap((f) => f.masterFailoverMs ?? []),
    marathonFailoverMs: faults.flatMap((f) => f.marathonFailoverMs ?? []),
    changesAcked: driver.stats.acked,
    changesUnknown: driver.stats.unknown,
    deployments: ledger.deploymentCount,
    capacitySamples: sampler.capacity.samples,
    durationMs: Date.now() - started,
  };
  return { figures, violations, faults, report: formatReport(figures, violations) };
}

/** ` (master failover 2.1 s, Marathon failover 3.0 s)`, or nothing. */
function failovers(f: FaultResult): string {
  const parts = [
    ...(f.masterFailoverMs !== undefined
      ? [`master failover ${(f.masterFailoverMs / 1000).toFixed(1)} s`]
      : []),
    ...(f.marathonFailoverMs !== undefined
      ? [`Marathon failover ${(f.marathonFailoverMs / 1000).toFixed(1)} s`]
      : []),
  ];
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/**
 * Waits for a snapshot read after `since` that shows convergence; `at` is when it was read,
 * `waiting` what the last snapshot before it still waited for.
 */
async function waitConverged(
  sampler: Sampler,
  options: {
    agents: string[];
    since: number;
    timeoutMs: number;
    excused?: () => ReadonlySet<string>;
  },
): Promise<{ at?: number; waiting: string[] }> {
  const deadline = Date.now() + Math.max(0, options.timeoutMs);
  let waiting = ["no snapshot read"];
  while (Date.now() < deadline) {
    let snapshot: Snapshot;
    try {
      snapshot = await sampler.next();
    } catch {
      break;
    }
    if (snapshot.at < options.since) continue;
    const c = convergence(snapshot, { agents: options.agents, excused: options.excused?.() });
    if (c.converged) return { at: snapshot.at, waiting };
    waiting = c.waiting;
  }
  return { waiting };
}

/** Marathon's apps, their versions, groups and deployments at the end. */
async function readFinalStore(client: MarathonClient): Promise<FinalStore | undefined> {
  const apps = MarathonAppsSchema.safeParse(await client.get("/v2/apps?embed=apps.tasks"));
  const root = MarathonGroupSchema.safeParse(await client.get("/v2/groups"));
  const deployments = MarathonDeploymentsSchema.safeParse(await client.get("/v2/deployments"));
  if (!apps.success || !root.success || !deployments.success) return undefined;
  const versions = new Map<string, string[]>();
  for (const app of apps.data.apps) {
    const v = VersionsSchema.safeParse(await client.get(`/v2/apps${app.id}/versions`));
    if (v.success) versions.set(app.id, v.data.versions);
  }
  return { apps: apps.data.apps, versions, root: root.data, deployments: deployments.data };
}

/** The task views' agreement, retried for up to 30 s (updates still in flight settle). */
async function finalTaskCheck(
  chaos: ChaosCluster,
  firstSeen: ReadonlyMap<string, number>,
): Promise<Violation[]> {
  const deadline = Date.now() + 30_000;
  let found: Violation[] = [];
  while (Date.now() < deadline) {
    found = checkTasks(await chaos.snapshot({ withAgents: true }), firstSeen);
    if (found.length === 0) return [];
    await new Promise((r) => setTimeout(r, 1000));
  }
  return found;
}

/** Writes each node's log and the fault timeline to `dir`. */
async function writeLogs(chaos: ChaosCluster, faults: FaultResult[], dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of chaos.logs()) await Deno.writeTextFile(`${dir}/${name}`, text);
  const timeline = faults.map((f) =>
    `${new Date(f.injectedAt).toISOString()} fault ${f.index}: ${f.description}; repaired ${
      new Date(f.repairedAt).toISOString()
    }`
  );
  await Deno.writeTextFile(`${dir}/faults.txt`, timeline.join("\n") + "\n");
}
