/**
 * Registry credentials of a task's image, from Mesos' `Image.Docker.config` (a VALUE secret
 * holding a Docker config JSON: `{"auths": {"registry:port": {"auth": base64("user:pass")}}}`,
 * or `username`/`password` there). Docker sends them as `X-Registry-Auth`, containerd as CRI's
 * `AuthConfig`. Messages never quote the config.
 */
import { z } from "zod";
import { type ContainerInfo, secretBytes } from "../../protocol/mod.ts";

/** What a registry is logged in with, for one pull. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry as the config names it (`registry:5000`). */
  serveraddress: string;
}

const DockerConfigSchema = z.object({
  auths: z.record(
    z.string(),
    z.object({
      auth: z.string().optional(),
      username: z.string().optional(),
      password: z.string().optional(),
    }),
  ).default({}),
});

const DOCKER_HUB = "docker.io";
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The registry an image reference pulls from (`docker.io` when it names none), as Docker reads it. */
export function registryOf(image: string): string {
  const slash = image.indexOf("/");
  if (slash < 0) return DOCKER_HUB;
  const first = image.slice(0, slash);
  const isHost = first.includes(".") || first.includes(":") || first === "localhost";
  if (!isHost) return DOCKER_HUB;
  return HUB_ALIASES.has(first) ? DOCKER_HUB : first;
}

/** A config's registry key as a host[:port]: `https://reg:5000/v1/` is `reg:5000`. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/**
 * The credentials to pull the container's image with: undefined when it carries no Docker config
 * or the config has no entry for the image's registry (then the pull is anonymous, as Mesos'
 * puller does); an error (for TASK_FAILED) when the config cannot be read.
 */
export function pullAuth(
  container: ContainerInfo | undefined,
  image: string,
): { ok: true; auth?: RegistryAuth } | { ok: false; reason: string } {
  const config = container?.mesos?.image?.docker?.config;
  if (!config) return { ok: true };
  const what = `Cannot read the Docker config of image "${image}"`;
  const bytes = secretBytes(config, what);
  if (!bytes.ok) return bytes;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.bytes));
  } catch {
    return { ok: false, reason: `${what}: it is not JSON` };
  }
  const parsed = DockerConfigSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `${what}: "auths" must map registries to {auth} or {username, password}`,
    };
  }
  const registry = registryOf(image);
  const entry = Object.entries(parsed.data.auths).find(([key]) => hostOf(key) === registry);
  if (!entry) return { ok: true };
  const [key, found] = entry;
  if (found.username !== undefined && found.password !== undefined) {
    return {
      ok: true,
      auth: { username: found.username, password: found.password, serveraddress: hostOf(key) },
    };
  }
  if (found.auth === undefined) {
    return {
      ok: false,
      reason: `${what}: the entry for ${registry} has neither auth nor username and password`,
    };
  }
  let pair: string;
  try {
    pair = new TextDecoder().decode(Uint8Array.from(atob(found.auth), (c) => c.charCodeAt(0)));
  } catch {
    return { ok: false, reason: `${what}: the auth of ${registry} is not base64` };
  }
  const colon = pair.indexOf(":");
  if (colon < 0) {
    return { ok: false, reason: `${what}: the auth of ${registry} is not base64 of user:password` };
  }
  return {
    ok: true,
    auth: {
      username: pair.slice(0, colon),
      password: pair.slice(colon + 1),
      serveraddress: hostOf(key),
    },
  };
}

/** Docker's `X-Registry-Auth` header value: base64url of `{username, password, serveraddress}`. */
export function registryAuthHeader(auth: RegistryAuth): string {
  const json = new TextEncoder().encode(JSON.stringify(auth));
  let binary = "";
  for (const b of json) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}
