/** Every key of the master's KV store, built in one place. */
export const keys = {
  /** The id of the cluster this store belongs to, written on its first start. */
  cluster: ["cluster"] as const,
  agents: ["agents"] as const,
  agent: (id: string) => ["agents", id] as const,
  frameworks: ["frameworks"] as const,
  framework: (id: string) => ["frameworks", id] as const,
  tasks: ["tasks"] as const,
  task: (frameworkId: string, taskId: string) => ["tasks", frameworkId, taskId] as const,
  removedFrameworks: ["removed_frameworks"] as const,
  removedFramework: (id: string) => ["removed_frameworks", id] as const,
  /** Agent ids marked gone by the operator (MARK_AGENT_GONE), one key each. */
  goneAgents: ["gone_agents"] as const,
  goneAgent: (id: string) => ["gone_agents", id] as const,
  quotas: ["quotas"] as const,
  quota: (role: string) => ["quotas", role] as const,
  weights: ["weights"] as const,
  weight: (role: string) => ["weights", role] as const,
  /** The maintenance schedule and the machines down, one record. */
  maintenance: ["maintenance"] as const,
  /** Where a record that no longer parses is moved (`load` sets it aside, never deletes it). */
  quarantined: (key: readonly (string | number)[]) => ["quarantine", ...key] as const,
};
