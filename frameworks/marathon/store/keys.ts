/** Every Deno KV key of the Marathon framework, built in one place, under `["marathon"]`. */

const ROOT = "marathon";

/** The KV keys of the Marathon store. */
export const keys = {
  /** The current definition of an app. */
  app: (appId: string) => [ROOT, "apps", appId] as const,
  apps: () => [ROOT, "apps"] as const,
  /** A stored version of an app, keyed by its ISO timestamp. */
  appVersion: (appId: string, version: string) => [ROOT, "app_versions", appId, version] as const,
  appVersions: (appId: string) => [ROOT, "app_versions", appId] as const,
  /** The ids of an app's stored versions, newest first: pruning reads this, not the versions. */
  appVersionIds: (appId: string) => [ROOT, "app_version_ids", appId] as const,
  /** The current definition of a pod. */
  pod: (podId: string) => [ROOT, "pods", podId] as const,
  pods: () => [ROOT, "pods"] as const,
  /** A stored version of a pod, keyed by its ISO timestamp. */
  podVersion: (podId: string, version: string) => [ROOT, "pod_versions", podId, version] as const,
  podVersions: (podId: string) => [ROOT, "pod_versions", podId] as const,
  /** A group's record (its dependencies, enforceRole, version). */
  group: (groupId: string) => [ROOT, "groups", groupId] as const,
  groups: () => [ROOT, "groups"] as const,
  /** Piece `piece` of the root group's snapshot at `version`. */
  rootVersion: (version: string, piece: number) => [ROOT, "root_versions", version, piece] as const,
  rootVersionPieces: (version: string) => [ROOT, "root_versions", version] as const,
  rootVersions: () => [ROOT, "root_versions"] as const,
  /** The stored root versions and their piece counts (`[version, pieces][]`), read at start. */
  rootVersionIndex: () => [ROOT, "root_version_index"] as const,
  /** `JournaledStore`'s chunks of large values and its journal. */
  journal: () => [ROOT, "_store"] as const,
  /** The deployment that holds an app or a pod (absent when none does). */
  lock: (appId: string) => [ROOT, "locks", appId] as const,
  deployment: (id: string) => [ROOT, "deployments", id] as const,
  deployments: () => [ROOT, "deployments"] as const,
  /** An instance of an app or a pod (apps and pods share one id space). */
  instance: (appId: string, instanceId: string) => [ROOT, "instances", appId, instanceId] as const,
  instancesOf: (appId: string) => [ROOT, "instances", appId] as const,
  instances: () => [ROOT, "instances"] as const,
  /** Launch backoff state per app. */
  backoff: (appId: string) => [ROOT, "backoff", appId] as const,
  backoffs: () => [ROOT, "backoff"] as const,
  /** The last task failure of an app (Marathon's `lastTaskFailure`). */
  lastFailure: (appId: string) => [ROOT, "last_failure", appId] as const,
  lastFailures: () => [ROOT, "last_failure"] as const,
  /** A secret, encrypted (`secrets/secret_store.ts`), by its canonical path (`/prod/db`). */
  secret: (path: string) => [ROOT, "secrets", path] as const,
  secrets: () => [ROOT, "secrets"] as const,
  /** The framework id the master gave, kept to re-subscribe after a restart. */
  frameworkId: () => [ROOT, "framework_id"] as const,
};
