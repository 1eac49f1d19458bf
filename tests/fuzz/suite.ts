/**
 * The fuzz suite's driver: sends each target `runs` generated requests (fast-check, seeded, so
 * a failure is replayed by its seed) and asserts no failure status (5xx), no crash, no state
 * change for a refused (4xx) request, and no file written outside the suite's work dirs.
 */
import fc from "fast-check";
import { type Target, TARGETS } from "./targets.ts";

/** What one target saw. */
export interface FuzzFigures {
  api: string;
  inputs: number;
  refused: number;
  failures: number;
  crashes: number;
  stateChanges: number;
  violations: string[];
}

/** Options of `runFuzz`. */
export interface FuzzOptions {
  /** Requests per target. */
  runs: number;
  seed: number;
  /** Only targets whose name contains this. */
  only?: string;
  /** Called with each target's figures as it finishes. */
  onTarget?: (figures: FuzzFigures) => void;
}

/** Runs every target; resolves with their figures and the paths written outside the work dirs. */
export async function runFuzz(
  options: FuzzOptions,
): Promise<{ figures: FuzzFigures[]; strayFiles: string[] }> {
  const root = await Deno.makeTempDir({ prefix: "tender-fuzz-" });
  const cwdBefore = await listing(Deno.cwd());
  const figures: FuzzFigures[] = [];
  try {
    for (const target of TARGETS) {
      if (options.only && !target.name.includes(options.only)) continue;
      const workDir = `${root}/${target.name.replace(/\W+/g, "-")}`;
      await Deno.mkdir(workDir);
      const f = await fuzzTarget(target, workDir, options);
      figures.push(f);
      options.onTarget?.(f);
    }
    const stray = [
      ...(await listing(root)).filter((p) => !figures.some((f) => p.startsWith(dirOf(f.api)))),
      ...(await listing(Deno.cwd())).filter((p) => !cwdBefore.includes(p)),
    ];
    return { figures, strayFiles: stray };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const dirOf = (api: string) => api.replace(/\W+/g, "-");

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out;
}

async function fuzzTarget(
  target: Target,
  workDir: string,
  options: FuzzOptions,
): Promise<FuzzFigures> {
  const running = await target.start(workDir);
  const f: FuzzFigures = {
    api: target.name,
    inputs: 0,
    refused: 0,
    failures: 0,
    crashes: 0,
    stateChanges: 0,
    violations: running.violations,
  };
  const isFailure = target.isFailure ?? ((s: number) => s >= 500);
  try {
    await fc.assert(
      fc.asyncProperty(target.inputs, async (req) => {
        f.inputs++;
        const before = await running.state();
        let status: number;
        try {
          status = await running.send(req);
        } catch (e) {
          f.crashes++;
          throw new Error(`${target.name} threw on ${describe(req)}: ${e}`);
        }
        if (isFailure(status)) {
          f.failures++;
          throw new Error(`${target.name} answered ${status} to ${describe(req)}`);
        }
        if (status >= 400 && status < 500) {
          f.refused++;
          const after = await running.state();
          if (after !== before) {
            f.stateChanges++;
            const diff = after.split("\n").filter((l) => !before.split("\n").includes(l));
            throw new Error(
              `${target.name} changed state (${
                diff.slice(0, 3).join("; ")
              }) yet answered ${status}: ${describe(req)}`,
            );
          }
        }
      }),
      { numRuns: options.runs, seed: options.seed, endOnFailure: true },
    );
  } finally {
    await running.stop();
  }
  return f;
}

function describe(req: { method: string; path: string; body?: unknown }): string {
  const body = typeof req.body === "string"
    ? JSON.stringify(req.body.slice(0, 300))
    : req.body instanceof Uint8Array
    ? `${req.body.length} bytes`
    : JSON.stringify(req.body)?.slice(0, 300);
  return `${req.method} ${req.path.slice(0, 200)} ${body ?? ""}`;
}

/** The figures as a table, one line per API. */
export function formatFigures(figures: readonly FuzzFigures[]): string {
  const rows = figures.map((f) =>
    `${f.api.padEnd(22)} ${String(f.inputs).padStart(7)} inputs ${
      String(f.refused).padStart(7)
    } refused ${String(f.failures).padStart(3)} 5xx ${String(f.crashes).padStart(3)} crashes`
  );
  return rows.join("\n");
}
