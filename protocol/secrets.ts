/**
 * Secrets in tasks (Mesos' `Secret`): a VALUE secret carries its bytes to the agent in an
 * environment variable (`type: SECRET`) or a volume (`source.type: SECRET`). Only the agent that
 * runs the task reads them; everything that stores or shows a TaskInfo keeps it redacted.
 */
import type { CommandInfo, ContainerInfo, Secret, TaskInfo } from "./mesos.ts";

/** A secret without its bytes: its type and reference stay, `value` goes. */
function redactSecret(secret: Secret): Secret {
  const { value: _value, ...rest } = secret;
  return rest;
}

function redactCommand(command: CommandInfo): CommandInfo {
  const variables = command.environment?.variables;
  if (!variables?.some((v) => v.secret?.value)) return command;
  return {
    ...command,
    environment: {
      ...command.environment,
      variables: variables.map((v) => (v.secret ? { ...v, secret: redactSecret(v.secret) } : v)),
    },
  };
}

function redactContainer(container: ContainerInfo): ContainerInfo {
  const volumes = container.volumes;
  const image = container.mesos?.image;
  const config = image?.docker?.config;
  let out = container;
  if (volumes?.some((v) => v.source?.secret?.value)) {
    out = {
      ...out,
      volumes: volumes.map((v) =>
        v.source?.secret
          ? { ...v, source: { ...v.source, secret: redactSecret(v.source.secret) } }
          : v
      ),
    };
  }
  const credential = image?.docker?.credential;
  if (image?.docker && (config?.value || credential?.secret !== undefined)) {
    // The image's Docker config (registry credentials) is a secret like the others; so is the
    // password of the deprecated `credential` (agents refuse it, but it must not be kept).
    const { secret: _secret, ...principal } = credential ?? { principal: "" };
    out = {
      ...out,
      mesos: {
        ...out.mesos,
        image: {
          ...image,
          docker: {
            ...image.docker,
            ...(config ? { config: redactSecret(config) } : {}),
            ...(credential ? { credential: principal } : {}),
          },
        },
      },
    };
  }
  return out;
}

/**
 * The task without the bytes of its secrets (environment variables and volumes of the task, its
 * executor and its health check's command, and its image's Docker config: `mesos.image.docker.
 * config`). What the master and the agent store and show. A task without secret bytes comes back
 * as the same object (its parts are copied only where something is taken out).
 */
export function redactSecrets(task: TaskInfo): TaskInfo {
  const command = task.command && redactCommand(task.command);
  const container = task.container && redactContainer(task.container);
  const healthCommand = task.health_check?.command && redactCommand(task.health_check.command);
  const executorCommand = task.executor?.command && redactCommand(task.executor.command);
  const executorContainer = task.executor?.container &&
    redactContainer(task.executor.container);
  if (
    command === task.command && container === task.container &&
    healthCommand === task.health_check?.command && executorCommand === task.executor?.command &&
    executorContainer === task.executor?.container
  ) {
    return task;
  }
  const out: TaskInfo = { ...task };
  if (command) out.command = command;
  if (container) out.container = container;
  if (task.health_check && healthCommand) {
    out.health_check = { ...task.health_check, command: healthCommand };
  }
  if (task.executor) {
    out.executor = {
      ...task.executor,
      ...(executorCommand ? { command: executorCommand } : {}),
      ...(executorContainer ? { container: executorContainer } : {}),
    };
  }
  return out;
}

/** Whether the task carries the bytes of any secret (then only its redaction may be kept). */
export function hasSecretValues(task: TaskInfo): boolean {
  return redactSecrets(task) !== task;
}

/** The bytes of a VALUE secret, or why the agent cannot have them. */
export function secretBytes(
  secret: Secret | undefined,
  what: string,
): { ok: true; bytes: Uint8Array } | { ok: false; reason: string } {
  if (!secret) return { ok: false, reason: `${what}: a SECRET without a secret` };
  if (secret.type === "REFERENCE" || (secret.reference && !secret.value)) {
    return {
      ok: false,
      reason: `${what}: secret "${secret.reference?.name ?? ""}" is a REFERENCE, and this agent ` +
        `has no secret resolver (give a VALUE secret)`,
    };
  }
  if (!secret.value) return { ok: false, reason: `${what}: the secret has no value` };
  try {
    const binary = atob(secret.value.data);
    return { ok: true, bytes: Uint8Array.from(binary, (c) => c.charCodeAt(0)) };
  } catch {
    return { ok: false, reason: `${what}: the secret's value.data is not base64` };
  }
}

/** Base64 of bytes (a Secret's `value.data`). */
export function base64Of(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
