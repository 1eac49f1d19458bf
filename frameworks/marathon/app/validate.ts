/**
 * Marathon's rules for a canonical app definition (`AppDefinition.validAppDefinition` and the
 * v2 API validators), with its messages and wix-accord paths. Pure: returns violations.
 */
import { type App, isHostNetworking, isResident } from "./normalize.ts";
import { parseConstraint } from "./constraint.ts";
import { isUserName, LIMITS, NOT_A_USER_NAME } from "../../../base/mod.ts";
import { pathIdErrors } from "./path_id.ts";
import { validateDockerParameters, validateFetch } from "./validate_fetch.ts";

/**
 * Most instances of one app. Marathon takes any Int; Tender plans every instance in memory, so
 * a limit keeps `instances: 1e308` from being stored (and from planning forever).
 */
export const MAX_INSTANCES = 100_000;
/** Characters of an app's id: its task ids (`<id>.instance-<uuid>`) must fit a file name. */
export const MAX_APP_ID = 200;
import { type Violation, Violations } from "./violations.ts";

const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NETWORK_NAME = /^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/;
const EXECUTOR = /^(\/\/cmd)|(\/?[^/]+(\/[^/]+)*)|$/;
const PORT_PROTOCOLS = ["tcp", "udp", "udp,tcp"];
const PORTED_CHECKS = ["HTTP", "HTTPS", "TCP", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"];

/** Options for `validateApp`. */
export interface ValidateOptions {
  /** The raw id as submitted, so `..`-style and bad segments are reported on it. */
  rawId?: string;
  /** The group relative ids resolve against. */
  base?: string;
}

/** Every rule the app breaks; empty when valid. */
export function validateApp(app: App, options: ValidateOptions = {}): Violation[] {
  const v = new Violations();
  for (const e of pathIdErrors(options.rawId ?? app.id, options.base)) v.add("/id", e);

  if (app.cmd !== undefined && app.args !== undefined && app.args.length > 0) {
    v.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  }
  const hasCmd = app.cmd !== undefined || (app.args !== undefined && app.args.length > 0);
  if (!hasCmd && !app.container) {
    v.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  }
  if (app.cmd !== undefined && app.cmd.length <= 1) v.add("/cmd", "must not be an empty string");
  // The agents run the app's tasks as this user: it must be one (no path, option or control).
  if (app.user !== undefined && !isUserName(app.user)) v.add("/user", NOT_A_USER_NAME);

  if (app.id.length > MAX_APP_ID) v.add("/id", `must be at most ${MAX_APP_ID} characters long`);
  nonNegative(v, app, ["instances", "cpus", "mem", "disk", "gpus", "backoffSeconds"]);
  if (app.instances > MAX_INSTANCES) {
    v.add("/instances", `got ${app.instances}, expected ${MAX_INSTANCES} or less`);
  }
  for (const k of ["cpus", "mem", "disk", "gpus"] as const) {
    if (app[k] > LIMITS.scalar) v.add(`/${k}`, `got ${app[k]}, expected ${LIMITS.scalar} or less`);
  }
  nonNegative(v, app, ["maxLaunchDelaySeconds"]);
  if (app.backoffFactor < 1) {
    v.add("/backoffFactor", `got ${app.backoffFactor}, expected 1 or more`);
  }
  if (app.taskKillGracePeriodSeconds !== undefined && app.taskKillGracePeriodSeconds < 0) {
    v.add("/taskKillGracePeriodSeconds", "got a negative value, expected 0 or more");
  }
  if (!EXECUTOR.test(app.executor)) v.add("/executor", "must match executor regex");
  for (const [key, value] of Object.entries(app.env)) {
    if (key === "") v.add("/env", "must not be empty");
    if (typeof value !== "string" && !(value.secret in app.secrets)) {
      v.add(`/env/${key}`, `references an undefined secret named '${value.secret}'`);
    }
  }
  if (app.acceptedResourceRoles !== undefined && app.acceptedResourceRoles.length === 0) {
    v.add("/acceptedResourceRoles", "must not be empty");
  }
  app.constraints.forEach((c, i) => {
    const p = parseConstraint(c);
    if (!p.ok) v.add(`/constraints(${i})`, p.error);
  });
  app.dependencies.forEach((d, i) => {
    for (const e of pathIdErrors(d)) v.add(`/dependencies(${i})`, e);
    if (d === app.id) v.add(`/dependencies(${i})`, "an app cannot depend on itself");
  });
  validateStrategies(v, app);
  validateContainer(v, app);
  validateDockerParameters(v, app);
  validateFetch(v, app);
  validateNetworks(v, app);
  validatePorts(v, app);
  validateHealthChecks(v, app);
  validateReadiness(v, app);
  validateLabels(v, app);
  return v.list();
}

function nonNegative<K extends keyof App>(v: Violations, app: App, keys: K[]): void {
  for (const k of keys) {
    const n = app[k];
    if (typeof n === "number" && n < 0) v.add(`/${String(k)}`, `got ${n}, expected 0 or more`);
  }
}

function validateStrategies(v: Violations, app: App): void {
  const { minimumHealthCapacity: min, maximumOverCapacity: max } = app.upgradeStrategy;
  for (
    const [name, value] of [["minimumHealthCapacity", min], ["maximumOverCapacity", max]] as const
  ) {
    if (value > 1) v.add(`/upgradeStrategy/${name}`, "is greater than 1");
    if (value < 0) v.add(`/upgradeStrategy/${name}`, "is less than 0");
  }
  const u = app.unreachableStrategy;
  if (u !== "disabled") {
    if (u.inactiveAfterSeconds < 0) {
      v.add(
        "/unreachableStrategy/inactiveAfterSeconds",
        "got a negative value, expected 0 or more",
      );
    }
    if (u.inactiveAfterSeconds > u.expungeAfterSeconds) {
      v.add(
        "/unreachableStrategy",
        `inactiveAfterSeconds (${u.inactiveAfterSeconds}) must be less or equal to ` +
          `expungeAfterSeconds, which is ${u.expungeAfterSeconds}`,
      );
    }
  }
  if (isResident(app)) {
    // Marathon's UpgradeStrategy.validForResidentTasks: old tasks must make way for new ones on
    // their reservations, and no extra instance may create extra volumes.
    if (min > 0.5) {
      v.add(
        "/upgradeStrategy/minimumHealthCapacity",
        `got ${scalaDouble(min)}, expected 0.5 or less`,
      );
    }
    if (max !== 0) {
      v.add("/upgradeStrategy/maximumOverCapacity", `got ${scalaDouble(max)}, expected 0.0`);
    }
    if (u !== "disabled") {
      v.add("/unreachableStrategy", "unreachableStrategy must be disabled for resident apps");
    }
  }
}

function validateContainer(v: Violations, app: App): void {
  const c = app.container;
  if (!c) {
    if (app.gpus > 0) v.add("/", "GPU resources only work with the Mesos containerizer");
    return;
  }
  if (c.type === "DOCKER" && !c.docker) v.add("/container/docker", "not defined");
  if (c.docker && c.docker.image.trim() === "") {
    v.add("/container/docker/image", "must not be empty");
  }
  if (c.type === "DOCKER" && app.gpus > 0) {
    v.add("/", "GPU resources only work with the Mesos containerizer");
  }
  if (c.type === "MESOS" && c.docker?.privileged) {
    v.add("/container/docker/privileged", "must be false");
  }
  // Marathon's rules: a pull config is the Mesos containerizer's (Image.Docker.config), and
  // names a secret the app declares.
  const pullConfig = c.docker?.pullConfig;
  if (pullConfig && c.type === "DOCKER") {
    v.add("/container/docker/pullConfig", "pullConfig is not supported with Docker containerizer");
  } else if (pullConfig && !(pullConfig.secret in app.secrets)) {
    v.add("/container/docker/pullConfig", "pullConfig.secret must refer to an existing secret");
  }
  c.volumes.forEach((vol, i) => {
    const p = `/container/volumes(${i})`;
    const kinds = [vol.hostPath, vol.persistent, vol.external, vol.secret].filter((x) =>
      x !== undefined
    );
    if (kinds.length !== 1) v.add(p, "must be one of host, persistent, external or secret volume");
    if (vol.containerPath === "") v.add(`${p}/containerPath`, "must not be empty");
    if (vol.persistent) validatePersistent(v, p, vol);
  });
}

/**
 * A persistent volume: Marathon's rules (`PersistentVolumeInfo`, `containerPath`), then what
 * Tender's agents cannot honour (one root disk: no `path`/`mount` disks, no profiles).
 */
function validatePersistent(
  v: Violations,
  p: string,
  vol: NonNullable<App["container"]>["volumes"][number],
): void {
  const pv = vol.persistent!;
  if (vol.containerPath.includes("/")) v.add(`${p}/containerPath`, 'value must not contain "/"');
  if (vol.containerPath === "." || vol.containerPath === "..") {
    v.add(`${p}/containerPath`, "must not be . or ..");
  }
  if (vol.mode !== "RW") v.add(`${p}/mode`, "must be RW");
  if (pv.size <= 0) v.add(`${p}/persistent/size`, `got ${pv.size}, expected more than 0`);
  if (pv.maxSize !== undefined) {
    if (pv.type !== "mount") {
      v.add(`${p}/persistent/maxSize`, "Only mount volumes can have maxSize");
    } else if (pv.maxSize <= pv.size) {
      v.add(`${p}/persistent/maxSize`, "Max size must be larger than size");
    }
  }
  if (pv.type === "root" && pv.constraints.length > 0) {
    v.add(`${p}/persistent/constraints`, "Constraints on root volumes are not supported");
  }
  if (pv.type !== "root") {
    v.add(
      `${p}/persistent/type`,
      `Tender's agents offer one root disk: only "root" persistent volumes are supported, not "${pv.type}"`,
    );
  }
  if (pv.profileName !== undefined) {
    v.add(`${p}/persistent/profileName`, "Tender has no disk profiles (no resource providers)");
  }
}

/** A number as Scala prints a Double (`1.0`, `0.75`), as Marathon's messages show them. */
function scalaDouble(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

function validateNetworks(v: Violations, app: App): void {
  const modes = app.networks.map((n) => n.mode);
  const host = modes.filter((m) => m === "host").length;
  const bridge = modes.filter((m) => m === "container/bridge").length;
  const container = modes.filter((m) => m === "container").length;
  if ((host > 0 && modes.length > 1) || bridge > 1 || (bridge > 0 && container > 0)) {
    v.add("/networks", "host or bridge networks may only be declared once, and not with others");
  }
  if (app.container?.type === "DOCKER" && container > 1) {
    v.add(
      "/networks",
      "may only specify a single container network when using the Docker container engine",
    );
  }
  // What Tender's agents can honour (Marathon's UCR takes several, and apps without an image).
  if (app.container?.type !== "DOCKER" && container > 1) {
    v.add("/networks", "Tender joins a task to one container network: give only one");
  }
  if (container > 0 && !app.container?.docker?.image) {
    v.add(
      "/networks",
      "a container network needs an image (container.docker.image): without one the task " +
        "runs as a process on the host's network",
    );
  }
  app.networks.forEach((n, i) => {
    if (n.mode === "container" && !n.name) v.add(`/networks(${i})/name`, "is required");
    if (n.mode !== "container" && n.name) v.add(`/networks(${i})/name`, "must be empty");
    if (n.name && (!NETWORK_NAME.test(n.name) || n.name.length > 63)) {
      v.add(`/networks(${i})/name`, `must fully match regular expression '${NETWORK_NAME.source}'`);
    }
  });
}

function validatePorts(v: Violations, app: App): void {
  const host = isHostNetworking(app);
  const mappings = app.container?.portMappings ?? [];
  if (host && mappings.length > 0) {
    v.add("/container/portMappings", "portMappings are not allowed with host-networking");
  }
  if (!host && app.portDefinitions.length > 0) {
    v.add("/portDefinitions", "portDefinitions are only allowed with host-networking");
  }
  const check = (
    base: string,
    entries: readonly { name?: string; protocol: string; labels: Record<string, string> }[],
    fixed: number[],
  ) => {
    entries.forEach((e, i) => {
      if (e.name !== undefined && !PORT_NAME.test(e.name)) {
        v.add(`${base}(${i})/name`, `must fully match regular expression '${PORT_NAME.source}'`);
      }
      if (!PORT_PROTOCOLS.includes(e.protocol)) {
        v.add(`${base}(${i})/protocol`, "is not one of (tcp,udp,udp,tcp)");
      }
    });
    const names = entries.flatMap((e) => (e.name !== undefined ? [e.name] : []));
    if (new Set(names).size !== names.length) v.add(base, "Port names must be unique.");
    const nonZero = fixed.filter((p) => p !== 0);
    if (new Set(nonZero).size !== nonZero.length) v.add(base, "Ports must be unique.");
  };
  check("/portDefinitions", app.portDefinitions, app.portDefinitions.map((p) => p.port));
  check("/container/portMappings", mappings, mappings.map((m) => m.hostPort ?? 0));
  app.portDefinitions.forEach((p, i) => {
    if (p.port < 0 || p.port > 65535) {
      v.add(`/portDefinitions(${i})/port`, "is not in range 0..65535");
    }
  });
  mappings.forEach((m, i) => {
    for (const key of ["containerPort", "hostPort", "servicePort"] as const) {
      const n = m[key];
      if (n !== undefined && (n < 0 || n > 65535)) {
        v.add(`/container/portMappings(${i})/${key}`, "is not in range 0..65535");
      }
    }
  });
  const containerNets = app.networks.filter((n) => n.mode === "container").length;
  if (containerNets > 1) {
    mappings.forEach((m, i) => {
      if (m.hostPort !== undefined && (m.networkNames?.length ?? 0) !== 1) {
        v.add(
          `/container/portMappings(${i})`,
          "may only specify a single networkName when specifying hostPort and multiple networks",
        );
      }
    });
  }
}

function validateHealthChecks(v: Violations, app: App): void {
  const portCount = isHostNetworking(app)
    ? app.portDefinitions.length
    : app.container?.portMappings.length ?? 0;
  let mesosChecks = 0;
  app.healthChecks.forEach((hc, i) => {
    const p = `/healthChecks(${i})`;
    if (hc.protocol.startsWith("MESOS_") || hc.protocol === "COMMAND") mesosChecks++;
    if (hc.protocol === "COMMAND") {
      if (!hc.command) v.add(`${p}/command`, "is required for COMMAND health checks");
    } else if (hc.command) {
      v.add(p, "command must be empty unless protocol is COMMAND");
    }
    if (PORTED_CHECKS.includes(hc.protocol) && hc.port === undefined) {
      const idx = hc.portIndex;
      if (idx === undefined || idx < 0 || idx >= portCount) {
        v.add(
          p,
          "Health check port indices must address an element of the ports array or container port mappings.",
        );
      }
    }
    if (hc.port !== undefined && (hc.port < 0 || hc.port > 65535)) {
      v.add(`${p}/port`, "is not in range 0..65535");
    }
    if (
      hc.ipProtocol === "IPv6" &&
      !(app.container?.type === "DOCKER" && hc.protocol.startsWith("MESOS_"))
    ) {
      v.add(
        p,
        "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks",
      );
    }
    for (
      const key of [
        "intervalSeconds",
        "timeoutSeconds",
        "gracePeriodSeconds",
        "maxConsecutiveFailures",
      ] as const
    ) {
      if (hc[key] < 0) v.add(`${p}/${key}`, `got ${hc[key]}, expected 0 or more`);
    }
  });
  if (mesosChecks > 1) v.add("/", "AppDefinition can contain at most one Mesos health check");
}

function validateReadiness(v: Violations, app: App): void {
  if (app.readinessChecks.length > 1) v.add("/readinessChecks", "must have at most 1 element");
  const names = new Set([
    ...app.portDefinitions.flatMap((p) => (p.name ? [p.name] : [])),
    ...(app.container?.portMappings ?? []).flatMap((m) => (m.name ? [m.name] : [])),
  ]);
  app.readinessChecks.forEach((rc, i) => {
    const p = `/readinessChecks(${i})`;
    if (!names.has(rc.portName)) {
      v.add(p, `No port definition reference for portName ${rc.portName}`);
    }
    if (rc.timeoutSeconds <= 0 || rc.timeoutSeconds >= rc.intervalSeconds) {
      v.add(`${p}/timeoutSeconds`, "must be positive and less than intervalSeconds");
    }
    if (rc.httpStatusCodesForReady.length === 0) {
      v.add(`${p}/httpStatusCodesForReady`, "must not be empty");
    }
    if (rc.httpStatusCodesForReady.some((s) => s < 100 || s > 999)) {
      v.add(`${p}/httpStatusCodesForReady`, "must be between 100 and 999");
    }
  });
}

function validateLabels(v: Violations, app: App): void {
  if (app.labels["MARATHON_SINGLE_INSTANCE_APP"] === "true") {
    if (app.instances > 1) v.add("/", "Single instance app may only have one instance");
    const { minimumHealthCapacity, maximumOverCapacity } = app.upgradeStrategy;
    if (minimumHealthCapacity !== 0 || maximumOverCapacity !== 0) {
      v.add("/upgradeStrategy", "Single instance app requires upgradeStrategy 0/0");
    }
  }
  if (app.labels["DCOS_MIGRATION_API_VERSION"] !== undefined) {
    if (app.labels["DCOS_MIGRATION_API_VERSION"] !== "v1") {
      v.add("/labels", "DCOS_MIGRATION_API_VERSION must be v1");
    }
    if (!app.labels["DCOS_PACKAGE_FRAMEWORK_NAME"] || !app.labels["DCOS_MIGRATION_API_PATH"]) {
      v.add(
        "/labels",
        "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using " +
          "DCOS_MIGRATION_API_VERSION",
      );
    }
  }
}
