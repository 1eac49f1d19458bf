/**
 * Where a run's task goes: Metronome's placement constraints (IS, LIKE, UNLIKE on `hostname`
 * or an agent attribute) and the resources, packed into the offers at hand; and the `TaskInfo`
 * that launches it. "Does not fit" is a value with its reason.
 */
import { attributeText, OfferPicker, taskInfo } from "../../../mod.ts";
import type { CommandInfo, Offer, TaskInfo } from "../../../protocol/mod.ts";
import type { Constraint, RunSpec } from "../model/job.ts";

/** A placement stage's answer: fits, or why not. */
export type Fit = { ok: true } | { ok: false; reason: string };

/** Whether the agent of `offer` satisfies `constraint`. */
export function constraintFits(constraint: Constraint, offer: Offer): Fit {
  const value = constraint.attribute === "hostname"
    ? offer.hostname
    : attributeText(offer, constraint.attribute);
  const { attribute, operator } = constraint;
  const no = (why: string): Fit => ({
    ok: false,
    reason: `constraint ${attribute} ${operator} "${constraint.value}" ${why}`,
  });
  if (value === undefined) {
    return operator === "UNLIKE"
      ? { ok: true }
      : no(`(agent "${offer.hostname}" has no ${attribute})`);
  }
  const matches = operator === "IS"
    ? value === constraint.value
    : new RegExp(`^(?:${constraint.value})$`).test(value);
  const wanted = operator !== "UNLIKE";
  return matches === wanted ? { ok: true } : no(`(agent "${offer.hostname}" has "${value}")`);
}

/** Takes a run's task out of a picker's offer, or says why it does not fit. */
export function pickFor(spec: RunSpec, picker: OfferPicker): Fit {
  for (const c of spec.placement.constraints) {
    const fit = constraintFits(c, picker.offer);
    if (!fit.ok) return fit;
  }
  const pick = picker.pick({
    cpus: spec.cpus,
    mem: spec.mem,
    disk: spec.disk,
    ...(spec.docker ? { image: true } : {}),
  });
  return pick.ok ? { ok: true } : { ok: false, reason: pick.reason };
}

/** The task that runs `spec` on the agent of `offer`. */
export function runTaskInfo(
  spec: RunSpec,
  options: {
    taskId: string;
    name: string;
    offer: Offer;
    labels: Record<string, string>;
    /** Variables set before the job's own `env` (which wins on a clash). */
    env: Record<string, string>;
  },
): TaskInfo {
  const info = taskInfo({
    name: options.name,
    taskId: options.taskId,
    agentId: options.offer.agent_id.value,
    cpus: spec.cpus,
    mem: spec.mem,
    disk: spec.disk,
    command: "", // replaced below by the whole CommandInfo
    ...(spec.docker
      ? {
        docker: {
          image: spec.docker.image,
          network: spec.networks[0]?.mode === "container/bridge" ? "BRIDGE" : "HOST",
          forcePullImage: spec.docker.forcePullImage,
        },
      }
      : {}),
    labels: options.labels,
    ...(spec.taskKillGracePeriodSeconds !== undefined
      ? { killGracePeriodMs: spec.taskKillGracePeriodSeconds * 1000 }
      : {}),
    ...(options.offer.allocation_info?.role
      ? { allocationRole: options.offer.allocation_info.role }
      : {}),
  });
  info.command = commandInfo(spec, options.env);
  const parameters = spec.docker?.parameters ?? [];
  if (
    info.container?.docker &&
    (spec.docker?.privileged || spec.volumes.length > 0 || parameters.length > 0)
  ) {
    info.container = {
      ...info.container,
      docker: {
        ...info.container.docker,
        privileged: spec.docker?.privileged ?? false,
        ...(parameters.length > 0 ? { parameters } : {}),
      },
      ...(spec.volumes.length > 0
        ? {
          volumes: spec.volumes.map((v) => ({
            container_path: v.containerPath,
            host_path: v.hostPath,
            mode: v.mode,
          })),
        }
        : {}),
    };
  }
  return info;
}

/**
 * `cmd` runs under `/bin/sh -c`; `args` is the argv (for a Docker task: the image's command,
 * after its entrypoint); a Docker task with neither runs its image's own command.
 */
function commandInfo(spec: RunSpec, base: Record<string, string>): CommandInfo {
  const environment = {
    variables: Object.entries({ ...base, ...spec.env }).map(([name, value]) => ({
      name,
      type: "VALUE" as const,
      value,
    })),
  };
  // Metronome's run.user is the task's CommandInfo.user: the agent runs the task as that user.
  const user = spec.user !== undefined ? { user: spec.user } : {};
  // Artifacts are fetched by the agent into the sandbox before the task starts.
  const uris = spec.artifacts.length === 0 ? {} : {
    uris: spec.artifacts.map((a) => ({
      value: a.uri,
      executable: a.executable,
      extract: a.extract,
      cache: a.cache,
    })),
  };
  if (spec.cmd !== undefined) {
    return { shell: true, value: spec.cmd, environment, ...user, ...uris };
  }
  return {
    shell: false,
    ...(spec.args ? { arguments: spec.args } : {}),
    environment,
    ...user,
    ...uris,
  };
}
