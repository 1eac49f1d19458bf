/**
 * The checks Marathon runs on deprecated API forms before normalisation folds them away
 * (`ipAddress`, `container.docker.network`, `ports`, `uris`, `container.docker.portMappings`).
 */
import type { AppInput } from "./schema.ts";
import { type Violation, Violations } from "./violations.ts";

/** Violations of the deprecated-field rules; empty when the legacy parts are consistent. */
export function validateLegacy(input: AppInput): Violation[] {
  const v = new Violations();
  const docker = input.container?.docker;
  const isDocker = input.container?.type === "DOCKER";

  if (input.ipAddress) {
    if (input.ipAddress.discovery && isDocker) {
      v.add("/ipAddress", "ipAddress/discovery is not allowed for Docker containers");
    }
    if (input.networks && input.networks.length > 0) {
      v.add("/", "ipAddress and networks are not allowed at the same time");
    }
    const portDefs = input.portDefinitions ?? [];
    const ports = input.ports ?? [];
    if (portDefs.length > 0 || ports.length > 0) {
      v.add("/", "cannot specify both an IP address and port");
    }
  }
  if (docker?.network !== undefined && input.networks && input.networks.length > 0) {
    v.add("/", "must not specify both container.docker.network and networks");
  }
  if (input.container?.type === "MESOS" && docker) {
    if (docker.network !== undefined) v.add("/container/docker/network", "must be empty");
    if (docker.parameters.length > 0) v.add("/container/docker/parameters", "must be empty");
    if (docker.portMappings !== undefined && docker.portMappings.length > 0) {
      v.add("/container/docker/portMappings", "must be empty");
    }
  }
  if (docker?.credential) {
    v.add("/container/docker/credential", "must be empty");
  }
  if (docker?.portMappings !== undefined && input.container?.portMappings !== undefined) {
    v.add(
      "/container",
      "cannot specify both portMappings and container.docker.portMappings",
    );
  }
  if (input.ports && input.portDefinitions) {
    const same = input.ports.length === input.portDefinitions.length &&
      input.ports.every((p, i) => input.portDefinitions![i]!.port === p);
    if (!same) v.add("/", "You cannot specify both ports and port definitions");
  }
  if (input.ports) {
    const fixed = input.ports.filter((p) => p !== 0);
    if (new Set(fixed).size !== fixed.length) v.add("/ports", "Ports must be unique.");
  }
  if (input.uris && input.uris.length > 0 && input.fetch.length > 0) {
    v.add("/", "cannot specify both uris and fetch fields");
  }
  return v.list();
}
