/**
 * Deployments moving on, pure: every deployment is checked against the apps, pods and instances in
 * the books; a finished one ends (its record and locks go), one whose next step may start advances,
 * and both are announced. Also Marathon's JSON of a deployment's plan, which the events and the
 * API show.
 */
import type { DeploymentPlan } from "../deployment/plan.ts";
import { deploymentProgress } from "../deployment/progress.ts";
import type { RunSpec } from "../deployment/run_spec.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import type { DeploymentRecord } from "../store/deployment_record.ts";
import { type Outcome, outcome } from "./changes.ts";
import type { MarathonBooks } from "./state.ts";

/** Ends finished deployments and advances those whose next step may start. */
export function syncDeployments(books: MarathonBooks): Outcome {
  const out = outcome();
  const specs = new Map<string, RunSpec>([
    ...books.apps().map((a) => [a.id, a] as const),
    ...books.pods().map((p) => [p.id, podRunSpec(p)] as const),
  ]);
  const instances = books.instances();
  for (const record of books.deployments()) {
    const progress = deploymentProgress(record, specs, instances);
    if (progress.done) {
      out.changes.push({ kind: "deployment", id: record.id, value: null, expected: record });
      out.events.push({
        type: "deployment_success",
        data: { id: record.id, plan: planOf(record) },
      });
      for (const a of record.steps.flatMap((s) => s.actions)) {
        if (a.action === "StopApplication" && !record.pods?.includes(a.app)) {
          out.events.push({ type: "app_terminated_event", data: { appId: a.app } });
        }
      }
    } else if (progress.currentStep !== record.currentStep) {
      out.changes.push({
        kind: "deployment",
        id: record.id,
        value: { ...record, currentStep: progress.currentStep },
        expected: record,
      });
      out.events.push({
        type: "deployment_step_success",
        data: {
          plan: planOf(record),
          currentStep: stepsJson(record)[record.currentStep - 1] ?? { actions: [] },
        },
      });
    }
  }
  return out;
}

/** A deployment's plan in the event payload shape. */
export function planOf(r: DeploymentRecord): Record<string, unknown> {
  return { id: r.id, steps: stepsJson(r), version: r.version };
}

/** An action as Marathon shows it: `{action, app}`, or `{action, pod}` for a pod. */
export function actionJson(
  r: Pick<DeploymentRecord, "pods">,
  a: DeploymentPlan["steps"][number]["actions"][number],
): Record<string, string> {
  return r.pods?.includes(a.app) ? { action: a.action, pod: a.app } : { ...a };
}

/** A deployment's steps as Marathon shows them. */
export function stepsJson(r: DeploymentRecord): { actions: Record<string, string>[] }[] {
  return r.steps.map((s) => ({ actions: s.actions.map((a) => actionJson(r, a)) }));
}
