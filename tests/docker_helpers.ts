/** Shared pieces for tests that need a real Docker Engine. */
import { LABELS, probeDocker } from "../agent/containerizer/docker.ts";
import { type ContainerSummary, DockerEngine } from "../agent/containerizer/docker_engine.ts";

/** The Engine socket the tests use (DOCKER_HOST=unix://... wins). */
export const SOCKET = Deno.env.get("DOCKER_HOST")?.startsWith("unix://")
  ? Deno.env.get("DOCKER_HOST")!.slice("unix://".length)
  : "/var/run/docker.sock";

/** The test image built by scripts/build-test-image.sh. */
export const IMAGE = "tender-busybox:latest";

/** True when no Docker Engine answers: Docker tests are then ignored, visibly. */
export const noDocker = !(await probeDocker(SOCKET));

/** Builds the test image when missing (the script is idempotent and fast when up to date). */
export async function ensureTestImage(): Promise<void> {
  const script = new URL("../scripts/build-test-image.sh", import.meta.url).pathname;
  const out = await new Deno.Command(script, { stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`build-test-image.sh failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Removes every container labelled with this owner (clean-up after a test, even a failed one). */
export async function removeOwned(owner: string): Promise<void> {
  const engine = new DockerEngine(SOCKET);
  try {
    for (const c of await engine.list([`tender.owner=${owner}`])) await engine.remove(c.Id);
  } finally {
    engine.close();
  }
}

/** A framework's containers (with more label filters); `running` keeps running ones only. */
export async function containersOf(
  frameworkId: string,
  labels: string[] = [],
  running = false,
): Promise<ContainerSummary[]> {
  const engine = new DockerEngine(SOCKET);
  try {
    const all = await engine.list([`${LABELS.frameworkId}=${frameworkId}`, ...labels]);
    return running ? all.filter((c) => c.State === "running") : all;
  } finally {
    engine.close();
  }
}

/** Removes every container of a framework (clean-up after a test or bench, even a failed one). */
export async function removeContainersOf(frameworkId: string | undefined): Promise<void> {
  if (!frameworkId) return;
  const engine = new DockerEngine(SOCKET);
  try {
    const all = await engine.list([`${LABELS.frameworkId}=${frameworkId}`]);
    await Promise.all(all.map((c) => engine.remove(c.Id).catch(() => {})));
  } finally {
    engine.close();
  }
}

/** A unique owner label for one test. */
export function testOwner(name: string): string {
  return `test-${name}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached within ${ms} ms${last ? ` (last error: ${last})` : ""}`);
}
