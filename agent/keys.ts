/** Every key of the agent's Deno KV store, built in one place. */
type Key = Deno.KvKey;

/** Keys of the agent's store. */
export const keys = {
  /** The id the master gave this agent. */
  agentId: (): Key => ["agent", "id"],
  /** The cluster whose master this agent registered with; sent on every SUBSCRIBE. */
  clusterId: (): Key => ["agent", "cluster_id"],
  /** A random id naming this agent's work dir; the Docker containerizer labels containers with it. */
  owner: (): Key => ["agent", "owner"],
  /**
   * The agent's checkpointed resources (dynamic reservations, persistent volumes) as the master
   * last sent them: a JSON array of Mesos `Resource`s.
   */
  checkpointedResources: (): Key => ["agent", "checkpointed_resources"],
  /** A task this agent runs or ran (until its terminal update is acknowledged). */
  task: (frameworkId: string, taskId: string): Key => ["tasks", frameworkId, taskId],
  /** Prefix of every task record. */
  tasks: (): Key => ["tasks"],
  /** One unacknowledged status update; `seq` orders the updates of a task. */
  update: (frameworkId: string, taskId: string, seq: number): Key => [
    "updates",
    frameworkId,
    taskId,
    seq,
  ],
  /** Prefix of every unacknowledged status update. */
  updates: (): Key => ["updates"],
};
