/**
 * Groups as stored: a record per group (its dependencies, `enforceRole` and version), and the
 * root group's versions, one snapshot per deployment naming every group record and every app's
 * version at that moment (the apps' definitions are their stored app versions).
 */
import { z } from "zod";

export const GroupRecordSchema = z.object({
  id: z.string(),
  dependencies: z.array(z.string()).default([]),
  enforceRole: z.boolean().default(false),
  /** The version of the newest change at or below this group. */
  version: z.string(),
});
/** A stored group (the root group has none: it always exists). */
export type GroupRecord = z.infer<typeof GroupRecordSchema>;

export const RootSnapshotSchema = z.object({
  version: z.string(),
  /** `[appId, appVersion]` of every app. */
  apps: z.array(z.tuple([z.string(), z.string()])),
  groups: z.array(GroupRecordSchema),
});
/** The whole tree at one root version. */
export type RootSnapshot = z.infer<typeof RootSnapshotSchema>;

/** Root versions kept, newest first (Marathon's `--max_versions` default). */
export const MAX_ROOT_VERSIONS = 50;

/**
 * A snapshot as KV values: its JSON cut in pieces, each well below KV's 64 KiB per value (a
 * piece of two-byte characters included).
 */
export function snapshotPieces(snapshot: RootSnapshot): string[] {
  const json = JSON.stringify(snapshot);
  const pieces: string[] = [];
  for (let i = 0; i < json.length; i += PIECE) pieces.push(json.slice(i, i + PIECE));
  return pieces;
}

/** The snapshot from its pieces, in key order. */
export function snapshotOf(pieces: readonly string[]): RootSnapshot {
  return RootSnapshotSchema.parse(JSON.parse(pieces.join("")));
}

const PIECE = 30_000;
