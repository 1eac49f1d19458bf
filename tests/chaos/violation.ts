/** A broken promise the chaos suite found, named by the check that found it. */

/** The checks, as the report names them. */
export type CheckName =
  | "nothing-lost"
  | "deployments"
  | "convergence"
  | "status-updates"
  | "orphans"
  | "capacity"
  | "availability";

/** One violation: which check, and what happened, naming apps, tasks, hosts and versions. */
export interface Violation {
  check: CheckName;
  message: string;
}
