/**
 * Marathon's rules for a pod definition, with wix-accord paths (`/containers(0)/name`), and the
 * fields Tender cannot honour: each is a violation naming it, never accepted and ignored.
 * Pure: returns violations.
 */
import { isUserName, LIMITS, NOT_A_USER_NAME } from "../../../base/mod.ts";
import { parseConstraint } from "../app/constraint.ts";
import { pathIdErrors } from "../app/path_id.ts";
import { MAX_APP_ID, MAX_INSTANCES } from "../app/validate.ts";
import { type Violation, Violations } from "../app/violations.ts";
import { validateFetchEntries } from "../app/validate_fetch.ts";
import type { Pod, PodCommand, PodContainer } from "./schema.ts";

/** Marathon's container and endpoint names. */
const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9]+)*$/;
const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,253}$/;
const PROTOCOLS = ["tcp", "udp"];

/** Why Tender cannot honour a field, as its violation says. */
const UNSUPPORTED = {
  readinessCheck: "is not supported by Tender for pods",
  tty: "is not supported by Tender",
  linuxInfo: "is not supported by Tender",
  persistent: "persistent volumes are not supported by Tender for pods",
  namedNetwork: "container networks by name are not supported by Tender: use host or " +
    "container/bridge",
  networkNames: "is not supported by Tender (one network per pod)",
  legacySharedCgroups: "is not supported by Tender",
} as const;

/** Options for `validatePod`. */
export interface ValidatePodOptions {
  /** The raw id as submitted. */
  rawId?: string;
}

/** Every rule the pod breaks; empty when valid. */
export function validatePod(pod: Pod, options: ValidatePodOptions = {}): Violation[] {
  const v = new Violations();
  for (const e of pathIdErrors(options.rawId ?? pod.id)) v.add("/id", e);
  if (pod.id.length > MAX_APP_ID) v.add("/id", `must be at most ${MAX_APP_ID} characters long`);
  if (pod.user !== undefined && !isUserName(pod.user)) v.add("/user", NOT_A_USER_NAME);
  if (pod.legacySharedCgroups) v.add("/legacySharedCgroups", UNSUPPORTED.legacySharedCgroups);
  if (pod.role !== undefined && pod.role !== "*") {
    v.add("/role", "must be '*': every pod runs under the framework's role");
  }
  environment(v, "/environment", pod.environment, pod.secrets);
  scaling(v, pod);
  scheduling(v, pod);
  for (const [k, value] of Object.entries(pod.executorResources)) {
    if (value < 0 || value > LIMITS.scalar) {
      v.add(`/executorResources/${k}`, `got ${value}, expected 0 to ${LIMITS.scalar}`);
    }
  }

  const bridge = networks(v, pod);
  const volumes = new Map<string, Pod["volumes"][number]>();
  pod.volumes.forEach((vol, i) => {
    const p = `/volumes(${i})`;
    if (!NAME.test(vol.name)) v.add(`${p}/name`, `must fully match regular expression '${NAME}'`);
    if (volumes.has(vol.name)) v.add(`${p}/name`, "must be unique");
    volumes.set(vol.name, vol);
    if (vol.persistent !== undefined) v.add(`${p}/persistent`, UNSUPPORTED.persistent);
    if (vol.secret !== undefined && vol.host !== undefined) {
      v.add(p, "must be one of host, persistent, secret or ephemeral volume");
    }
    if (vol.secret !== undefined && !(vol.secret in pod.secrets)) {
      v.add(`${p}/secret`, `references an undefined secret named '${vol.secret}'`);
    }
    if (vol.host !== undefined && !vol.host.startsWith("/")) {
      v.add(`${p}/host`, "must be an absolute path");
    }
  });

  if (pod.containers.length === 0) v.add("/containers", "must not be empty");
  const names = new Set<string>();
  const endpoints = new Set<string>();
  const hostPorts = new Set<number>();
  pod.containers.forEach((c, i) => {
    const p = `/containers(${i})`;
    if (!NAME.test(c.name)) v.add(`${p}/name`, `must fully match regular expression '${NAME}'`);
    if (names.has(c.name)) v.add(`${p}/name`, "is not unique: container names must be");
    names.add(c.name);
    container(v, p, c, { bridge, volumes, secrets: pod.secrets });
    c.endpoints.forEach((e, j) => {
      const ep = `${p}/endpoints(${j})`;
      if (!NAME.test(e.name)) v.add(`${ep}/name`, `must fully match regular expression '${NAME}'`);
      if (endpoints.has(e.name)) v.add(`${ep}/name`, "is not unique: endpoint names must be");
      endpoints.add(e.name);
      if (e.networkNames && e.networkNames.length > 0) {
        v.add(`${ep}/networkNames`, UNSUPPORTED.networkNames);
      }
      for (const proto of e.protocol) {
        if (!PROTOCOLS.includes(proto)) v.add(`${ep}/protocol`, `must be tcp or udp, not ${proto}`);
      }
      if (bridge) {
        if (e.containerPort === undefined) {
          v.add(`${ep}/containerPort`, "is required with container/bridge networking");
        }
      } else {
        if (e.hostPort === undefined) {
          v.add(`${ep}/hostPort`, "is required with host networking (0 picks one)");
        }
        if (e.containerPort !== undefined) {
          v.add(`${ep}/containerPort`, "must be empty with host networking");
        }
      }
      for (const [key, port] of [["containerPort", e.containerPort], ["hostPort", e.hostPort]]) {
        if (typeof port === "number" && (port < 0 || port > 65535)) {
          v.add(`${ep}/${key}`, "is not in range 0..65535");
        }
      }
      if (e.hostPort !== undefined && e.hostPort > 0) {
        if (hostPorts.has(e.hostPort)) v.add(`${ep}/hostPort`, "must be unique within the pod");
        hostPorts.add(e.hostPort);
      }
    });
  });
  return v.list();
}

function container(
  v: Violations,
  p: string,
  c: PodContainer,
  pod: {
    bridge: boolean;
    volumes: ReadonlyMap<string, Pod["volumes"][number]>;
    secrets: Pod["secrets"];
  },
): void {
  if (c.user !== undefined && !isUserName(c.user)) v.add(`${p}/user`, NOT_A_USER_NAME);
  validateFetchEntries(v, `${p}/artifacts`, c.artifacts);
  if (c.readinessCheck !== undefined) v.add(`${p}/readinessCheck`, UNSUPPORTED.readinessCheck);
  if (c.tty) v.add(`${p}/tty`, UNSUPPORTED.tty);
  if (c.linuxInfo !== undefined) v.add(`${p}/linuxInfo`, UNSUPPORTED.linuxInfo);
  environment(v, `${p}/environment`, c.environment, pod.secrets);
  for (const [k, value] of Object.entries(c.resources)) {
    if (value < 0 || value > LIMITS.scalar) {
      v.add(`${p}/resources/${k}`, `got ${value}, expected 0 to ${LIMITS.scalar}`);
    }
  }
  if (c.resources.cpus <= 0 && c.resources.mem <= 0) {
    v.add(`${p}/resources`, "a container needs cpus or mem");
  }
  if (c.image) {
    if (c.image.kind !== "DOCKER") {
      v.add(`${p}/image/kind`, `${c.image.kind} is not supported by Tender (DOCKER is)`);
    }
    if (c.image.id.trim() === "") v.add(`${p}/image/id`, "must not be empty");
    // Marathon's rules: the pull config names a secret the pod declares.
    const pullConfig = c.image.pullConfig;
    if (pullConfig && c.image.kind !== "DOCKER") {
      v.add(`${p}/image/pullConfig`, "pullConfig is supported only with Docker images");
    } else if (pullConfig && !(pullConfig.secret in pod.secrets)) {
      v.add(`${p}/image/pullConfig`, "pullConfig.secret must refer to an existing secret");
    }
  } else {
    if (!c.exec) v.add(`${p}/exec`, "is required for a container without an image");
    if (pod.bridge) {
      v.add(
        `${p}/image`,
        "is required with container/bridge networking: Tender runs a container without an " +
          "image as a process on the agent's network",
      );
    }
  }
  if (c.exec) {
    command(v, `${p}/exec/command`, c.exec.command);
    const shell = "shell" in c.exec.command;
    if (c.exec.overrideEntrypoint === !shell && c.image) {
      v.add(
        `${p}/exec/overrideEntrypoint`,
        shell
          ? "must be true (or absent) for a shell command: Tender runs it with /bin/sh -c"
          : "must be false (or absent) for argv: Tender keeps the image's entrypoint",
      );
    }
  }
  if (c.lifecycle?.killGracePeriodSeconds !== undefined && c.lifecycle.killGracePeriodSeconds < 0) {
    v.add(`${p}/lifecycle/killGracePeriodSeconds`, "got a negative value, expected 0 or more");
  }
  c.volumeMounts.forEach((m, j) => {
    const mp = `${p}/volumeMounts(${j})`;
    if (!pod.volumes.has(m.name)) v.add(`${mp}/name`, `names no volume of the pod: ${m.name}`);
    if (m.mountPath.trim() === "" || m.mountPath.split("/").includes("..")) {
      v.add(`${mp}/mountPath`, "must be a path without '..'");
    } else if (m.mountPath.startsWith("/") && !c.image) {
      v.add(
        `${mp}/mountPath`,
        "must be relative (to the sandbox) for a container without an image: it runs as a " +
          "process on the agent's filesystem",
      );
    }
    if (m.readOnly && !c.image) {
      v.add(`${mp}/readOnly`, "needs a container with an image (a process cannot be given one)");
    }
  });
  const hc = c.healthCheck;
  if (hc) {
    const kinds = [hc.http, hc.tcp, hc.exec].filter((k) => k !== undefined).length;
    if (kinds !== 1) v.add(`${p}/healthCheck`, "must have exactly one of http, tcp or exec");
    const endpoint = hc.http?.endpoint ?? hc.tcp?.endpoint;
    if (endpoint !== undefined && !c.endpoints.some((e) => e.name === endpoint)) {
      v.add(`${p}/healthCheck`, `names no endpoint of the container: ${endpoint}`);
    }
    if (hc.exec) command(v, `${p}/healthCheck/exec/command`, hc.exec.command);
    for (const k of ["intervalSeconds", "timeoutSeconds"] as const) {
      if (hc[k] < 1) v.add(`${p}/healthCheck/${k}`, `got ${hc[k]}, expected 1 or more`);
    }
    for (const k of ["gracePeriodSeconds", "delaySeconds", "maxConsecutiveFailures"] as const) {
      if (hc[k] < 0) v.add(`${p}/healthCheck/${k}`, `got ${hc[k]}, expected 0 or more`);
    }
  }
}

function command(v: Violations, p: string, cmd: PodCommand): void {
  if ("shell" in cmd && cmd.shell.trim() === "") v.add(`${p}/shell`, "must not be empty");
  if ("argv" in cmd && cmd.argv.length === 0) v.add(`${p}/argv`, "must not be empty");
}

function environment(
  v: Violations,
  p: string,
  env: Pod["environment"],
  secrets: Pod["secrets"],
): void {
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) {
      v.add(`${p}/${name}`, `must fully match regular expression '${ENV_NAME}'`);
    }
    if (typeof value !== "string" && !(value.secret in secrets)) {
      v.add(`${p}/${name}`, `references an undefined secret named '${value.secret}'`);
    }
  }
}

/** Checks the networks; answers whether the pod has a bridge network of its own. */
function networks(v: Violations, pod: Pod): boolean {
  if (pod.networks.length > 1) {
    v.add("/networks", "must name one network (host or container/bridge)");
  }
  pod.networks.forEach((n, i) => {
    if (n.mode === "container") v.add(`/networks(${i})/mode`, UNSUPPORTED.namedNetwork);
    if (n.mode !== "container" && n.name !== undefined) {
      v.add(`/networks(${i})/name`, "must be empty");
    }
  });
  return pod.networks.some((n) => n.mode === "container/bridge");
}

function scaling(v: Violations, pod: Pod): void {
  const { kind, instances, maxInstances } = pod.scaling;
  if (kind !== "fixed") v.add("/scaling/kind", `must be fixed, not ${kind}`);
  if (instances < 0) v.add("/scaling/instances", `got ${instances}, expected 0 or more`);
  if (instances > MAX_INSTANCES) {
    v.add("/scaling/instances", `got ${instances}, expected ${MAX_INSTANCES} or less`);
  }
  if (maxInstances !== undefined && instances > maxInstances) {
    v.add(
      "/scaling/instances",
      `got ${instances}, expected at most maxInstances (${maxInstances})`,
    );
  }
}

function scheduling(v: Violations, pod: Pod): void {
  const { backoff, upgrade, placement, unreachableStrategy } = pod.scheduling;
  const p = "/scheduling";
  if (backoff.backoff < 0) {
    v.add(`${p}/backoff/backoff`, "got a negative value, expected 0 or more");
  }
  if (backoff.backoffFactor < 1) {
    v.add(`${p}/backoff/backoffFactor`, `got ${backoff.backoffFactor}, expected 1 or more`);
  }
  if (backoff.maxLaunchDelay < 0) {
    v.add(`${p}/backoff/maxLaunchDelay`, "got a negative value, expected 0 or more");
  }
  if (upgrade.minimumHealthCapacity < 0 || upgrade.minimumHealthCapacity > 1) {
    v.add(`${p}/upgrade/minimumHealthCapacity`, "is not between 0 and 1");
  }
  if (upgrade.maximumOverCapacity < 0 || upgrade.maximumOverCapacity > 1) {
    v.add(`${p}/upgrade/maximumOverCapacity`, "is not between 0 and 1");
  }
  placement.constraints.forEach((c, i) => {
    const raw = [c.fieldName, c.operator, ...(c.value !== undefined ? [c.value] : [])];
    const parsed = parseConstraint(raw);
    if (!parsed.ok) v.add(`${p}/placement/constraints(${i})`, parsed.error);
  });
  if (unreachableStrategy !== "disabled") {
    const { inactiveAfterSeconds, expungeAfterSeconds } = unreachableStrategy;
    if (inactiveAfterSeconds < 0) {
      v.add(`${p}/unreachableStrategy/inactiveAfterSeconds`, "got a negative value");
    }
    if (expungeAfterSeconds < inactiveAfterSeconds) {
      v.add(
        `${p}/unreachableStrategy/expungeAfterSeconds`,
        "must be at least inactiveAfterSeconds",
      );
    }
  }
}
