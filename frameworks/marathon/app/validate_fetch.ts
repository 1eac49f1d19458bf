/**
 * What the agents will do with an app's `fetch` and `container.docker.parameters`, checked when
 * the app is submitted: an entry they would refuse is a 422 naming it, never a task that fails
 * on every agent (the agents check again: a raw Mesos task gets TASK_ERROR or TASK_FAILED).
 */
import { parseDockerParameters } from "../../../protocol/mod.ts";
import type { App } from "./normalize.ts";
import type { Violations } from "./violations.ts";

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** `fetch(i)/uri`: http, https, file or an absolute path; `destPath` stays in the sandbox. */
export function validateFetch(v: Violations, app: App): void {
  validateFetchEntries(v, "/fetch", app.fetch);
}

/** The same rules for any list of fetch entries (an app's `fetch`, a pod container's `artifacts`). */
export function validateFetchEntries(
  v: Violations,
  base: string,
  entries: readonly { uri: string; destPath?: string }[],
): void {
  entries.forEach((f, i) => {
    const p = `${base}(${i})`;
    const scheme = SCHEME.exec(f.uri)?.[1]?.toLowerCase();
    if (f.uri.trim() === "") v.add(`${p}/uri`, "must not be empty");
    else if (!f.uri.startsWith("/") && !["http", "https", "file"].includes(scheme ?? "")) {
      v.add(
        `${p}/uri`,
        `Tender's agents fetch http, https and file URIs and absolute paths, not ${
          scheme ? `${scheme}:` : "relative paths"
        }`,
      );
    }
    if (f.destPath !== undefined) {
      const parts = f.destPath.split("/");
      if (f.destPath === "" || f.destPath.startsWith("/") || parts.includes("..")) {
        v.add(`${p}/destPath`, "must be a relative path inside the sandbox, without ..");
      }
    }
  });
}

/** `container/docker/parameters(i)`: only keys the agents map, with values they read. */
export function validateDockerParameters(v: Violations, app: App): void {
  const parameters = app.container?.docker?.parameters ?? [];
  parameters.forEach((parameter, i) => {
    const parsed = parseDockerParameters([parameter]);
    if (parsed.ok) return;
    const { field, reason } = parsed.refusal;
    v.add(
      `/container/docker/parameters(${i})/${field}`,
      field === "key" ? `${JSON.stringify(parameter.key)} ${reason}` : `bad value ${reason}`,
    );
  });
}
