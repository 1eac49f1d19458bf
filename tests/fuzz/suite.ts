/**
 * The fuzz suite's driver: sends each target `runs` generated requests (fast-check, seeded, so
 * a failure is replayed by its seed) and asserts no failure status (5xx), no crash, no state
 * change for a refused (4xx) request, and no file written outside the suite's work dirs. Targets
 * served with security on (`secure_targets.ts`) are also held to `SecureExpectations`: their
 * hostile callers never get a 2xx outside the open routes nor change anything, and no answer or
 * log line holds a secret (each broken promise counts as a breach).
 */
import fc from "fast-check";
import type { FuzzRequest } from "./inputs.ts";
import { JOBS_TARGET } from "./jobs_targets.ts";
import { SECURE_TARGETS } from "./secure_targets.ts";
import { type Outcome, type SecureExpectations, type Target, TARGETS } from "./targets.ts";

/** What one target saw. */
export interface FuzzFigures {
  api: string;
  inputs: number;
  refused: number;
  failures: number;
  crashes: number;
  stateChanges: number;
  /** Security promises broken (secure targets only). */
  breaches: number;
  violations: string[];
}

/** Options of `runFuzz`. */
export interface FuzzOptions {
  /** Requests per target. */
  runs: number;
  /** Requests per target served with security on (default `runs`). */
  secureRuns?: number;
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
    for (const target of [...TARGETS, JOBS_TARGET, ...SECURE_TARGETS]) {
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
  const logs = target.secure ? captureLogs() : undefined;
  const running = await target.start(workDir).catch((e) => {
    logs?.restore();
    throw e;
  });
  const f: FuzzFigures = {
    api: target.name,
    inputs: 0,
    refused: 0,
    failures: 0,
    crashes: 0,
    stateChanges: 0,
    breaches: 0,
    violations: running.violations,
  };
  const isFailure = target.isFailure ?? ((s: number) => s >= 500);
  const runs = target.secure ? options.secureRuns ?? options.runs : options.runs;
  try {
    await fc.assert(
      fc.asyncProperty(target.inputs, async (req) => {
        f.inputs++;
        const before = await running.state();
        const logged = logs?.lines.length ?? 0;
        let outcome: Outcome;
        try {
          const sent = await running.send(req);
          outcome = typeof sent === "number" ? { status: sent } : sent;
        } catch (e) {
          f.crashes++;
          throw new Error(`${target.name} threw on ${describe(req)}: ${e}`);
        }
        const { status } = outcome;
        if (isFailure(status)) {
          f.failures++;
          throw new Error(`${target.name} answered ${status} to ${describe(req)}`);
        }
        if (target.secure) {
          if (status >= 400 && status < 500) f.refused++;
          const breach = secureBreach(target.secure, req, outcome, logs!.lines.slice(logged));
          if (breach) {
            f.breaches++;
            throw new Error(`${target.name}: ${breach}: ${describe(req)}`);
          }
          const after = await running.state();
          if (after !== before) {
            f.stateChanges++;
            const diff = after.split("\n").filter((l) => !before.split("\n").includes(l));
            throw new Error(
              `${target.name} changed state (${diff.slice(0, 3).join("; ")}) for ${
                req.as ?? "a caller"
              } (answered ${status}): ${describe(req)}`,
            );
          }
          return;
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
      { numRuns: runs, seed: options.seed, endOnFailure: true },
    );
  } finally {
    await running.stop();
    logs?.restore();
  }
  return f;
}

/** What broke `expect` in one answer to a hostile caller, or undefined. */
function secureBreach(
  expect: SecureExpectations,
  req: FuzzRequest,
  outcome: Outcome,
  logLines: readonly string[],
): string | undefined {
  const body = outcome.body ?? "";
  const secret = expect.secrets.find((s) => body.includes(s));
  if (secret !== undefined) return `the answer (${outcome.status}) holds a secret`;
  if (logLines.some((line) => expect.secrets.some((s) => line.includes(s)))) {
    return "a log line holds a secret";
  }
  const ok = outcome.status >= 200 && outcome.status < 300;
  if (!ok) return undefined;
  const hidden = expect.hidden.find((h) => body.includes(h));
  // A request without an identity at all (DNS has no credentials) is answered, but shown nothing
  // hidden.
  if (req.as === undefined && hidden !== undefined) return `an answer showed "${hidden}"`;
  if (expect.open(req)) return undefined;
  if (req.as !== "denied") return `${req.as ?? "an unauthenticated caller"} got ${outcome.status}`;
  return hidden === undefined ? undefined : `a refused caller was shown "${hidden}"`;
}

/** Tees console output into `lines` until `restore()` (log lines are checked for secrets). */
function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const methods = ["log", "info", "warn", "error", "debug"] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) {
    const original = console[m];
    console[m] = (...args: unknown[]) => {
      lines.push(args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "));
      original(...args);
    };
  }
  return {
    lines,
    restore() {
      methods.forEach((m, i) => (console[m] = saved[i]!));
    },
  };
}

function describe(
  req: { method: string; path: string; body?: unknown; as?: string; from?: string },
): string {
  const body = typeof req.body === "string"
    ? JSON.stringify(req.body.slice(0, 300))
    : req.body instanceof Uint8Array
    ? `${req.body.length} bytes`
    : JSON.stringify(req.body)?.slice(0, 300);
  const who = req.as === undefined ? "" : `[${req.as} from ${req.from ?? "127.0.0.1"}] `;
  return `${who}${req.method} ${req.path.slice(0, 200)} ${body ?? ""}`;
}

/** The figures as a table, one line per API. */
export function formatFigures(figures: readonly FuzzFigures[]): string {
  const rows = figures.map((f) =>
    `${f.api.padEnd(34)} ${String(f.inputs).padStart(7)} inputs ${
      String(f.refused).padStart(7)
    } refused ${String(f.failures).padStart(3)} 5xx ${String(f.crashes).padStart(3)} crashes${
      f.breaches > 0 || f.api.includes("security on") ? ` ${f.breaches} breaches` : ""
    }`
  );
  return rows.join("\n");
}
