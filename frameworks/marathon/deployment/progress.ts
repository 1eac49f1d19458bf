/**
 * Deployment progress: which step of a plan is done, judged from the apps' current
 * definitions and instances. A step is done when each action is: Stop → no active instance
 * left and the app gone; Start → always; Scale/Restart → the app has settled (reconciler).
 */
import type { RunSpec } from "./run_spec.ts";
import { type Instance, isActive, isTerminal } from "../model/instance.ts";
import type { DeploymentAction, DeploymentPlan } from "./plan.ts";
import { reconcileApp } from "./reconcile.ts";

/** Where a deployment stands: the first unfinished step (1-based), or done. */
export type Progress = { done: true } | { done: false; currentStep: number };

/** Whether one action of a plan has completed. */
export function actionDone(
  action: DeploymentAction,
  apps: ReadonlyMap<string, RunSpec>,
  instances: readonly Instance[],
): boolean {
  const mine = instances.filter((i) => i.appId === action.app);
  const app = apps.get(action.app);
  switch (action.action) {
    case "StartApplication":
      return true;
    case "StopApplication":
      // Done when every instance has ended, not when its kill was sent: the master drains a
      // task from routers before the kill reaches the agent, and the task may take its grace.
      return app === undefined && !mine.some((i) => isActive(i) || isAlive(i));
    case "ScaleApplication":
    case "RestartApplication":
      // An app replaced or removed by a later change no longer holds this step up.
      return app === undefined || reconcileApp(app, mine).settled;
  }
}

/** An instance whose task has not ended (whatever its goal), and is not unreachable. */
function isAlive(i: Instance): boolean {
  return !isTerminal(i.condition) && i.condition !== "UnreachableInactive";
}

/** The progress of `plan` given the apps and all instances. */
export function deploymentProgress(
  plan: DeploymentPlan,
  apps: ReadonlyMap<string, RunSpec>,
  instances: readonly Instance[],
): Progress {
  for (let s = 0; s < plan.steps.length; s++) {
    const step = plan.steps[s]!;
    if (!step.actions.every((a) => actionDone(a, apps, instances))) {
      return { done: false, currentStep: s + 1 };
    }
  }
  return { done: true };
}

/**
 * Apps that must wait: they act in a step after their deployment's current one (their
 * dependencies come first), so the scheduler neither launches nor replaces for them yet.
 */
export function heldApps(
  deployments: readonly (DeploymentPlan & { currentStep: number })[],
): Set<string> {
  const held = new Set<string>();
  for (const d of deployments) {
    d.steps.slice(d.currentStep).forEach((step) => {
      for (const a of step.actions) {
        if (a.action === "ScaleApplication" || a.action === "RestartApplication") held.add(a.app);
      }
    });
  }
  return held;
}
