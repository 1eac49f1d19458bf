/** A deployment as stored: its plan plus what is needed to show progress and to revert it. */
import { z } from "zod";
import { DeploymentPlanSchema } from "../deployment/plan.ts";

export const DeploymentRecordSchema = DeploymentPlanSchema.extend({
  /** 1-based index of the step in progress. */
  currentStep: z.number().int().min(1),
  /** For each affected app, the version before the deployment (null: the app did not exist). */
  originalVersions: z.record(z.string(), z.string().nullable()),
  startedAt: z.string(),
  /** The affected ids that are pods (`affectedApps` names them too, as the locks they hold). */
  pods: z.array(z.string()).optional(),
});
/** A stored deployment. */
export type DeploymentRecord = z.infer<typeof DeploymentRecordSchema>;
