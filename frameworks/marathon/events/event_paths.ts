/**
 * Which apps and pods a Marathon event is about, so that `/v2/events` shows a principal only
 * events of what its `view_apps` ACLs let it see: ids in `appId`, `runSpecId`,
 * `appDefinition.id`, the actions of a deployment's `plan` and `currentStep`, or the path of a
 * pod event's `uri`. An event about none (the scheduler's registration, a root group change)
 * concerns the whole tree.
 */
import type { MarathonEvent } from "./event_bus.ts";

/** The app and pod ids an event names; empty when it concerns the whole tree. */
export function eventPaths(event: MarathonEvent): string[] {
  const ids = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === "string" && v.startsWith("/")) ids.add(v);
  };
  add(event["appId"]);
  add(event["runSpecId"]);
  const definition = event["appDefinition"];
  if (isRecord(definition)) add(definition["id"]);
  const steps = [
    ...(isRecord(event["plan"]) && Array.isArray(event["plan"]["steps"])
      ? event["plan"]["steps"]
      : []),
    event["currentStep"],
  ];
  for (const step of steps) {
    if (!isRecord(step) || !Array.isArray(step["actions"])) continue;
    for (const action of step["actions"]) {
      if (isRecord(action)) {
        add(action["app"]);
        add(action["pod"]);
      }
    }
  }
  const uri = event["uri"];
  if (typeof uri === "string") {
    const m = /^\/v2\/(?:apps|pods)(\/[^:]+?)(?:::.*)?\/?$/.exec(uri);
    if (m) add(m[1]);
  }
  return [...ids];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
