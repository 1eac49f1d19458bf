/**
 * The simulated containerizer: no real work, for scale simulations and benchmarks. A task
 * whose command is `sleep N` "runs" for N seconds of the given clock and exits 0; `exit N`
 * ends at once with status N; `sim:finish-after=D` exits 0 after D and `sim:fail-after=D`
 * exits 1 after D (D: `500ms`, `5s`, `2m`; a bare number is seconds); `sim:fail` exits 1 at
 * once; anything else runs until destroyed. Nothing survives the instance, so `recover()`
 * only knows what this instance launched.
 */
import type { Clock } from "../../base/mod.ts";
import type { CommandInfo } from "../../protocol/mod.ts";
import type {
  ContainerId,
  Containerizer,
  ContainerSpec,
  LogOptions,
  RecoveredContainer,
  Termination,
} from "./containerizer.ts";

interface Entry {
  spec: ContainerSpec;
  termination: Promise<Termination>;
  settle: (t: Termination) => void;
  settled?: Termination;
  stop: AbortController;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, "": 1000 };

/**
 * How long a simulated command runs and how it ends: `sleep N` N seconds then 0, `exit N` at
 * once with N, `sim:finish-after=D` D then 0, `sim:fail-after=D` D then 1, `sim:fail` at once
 * with 1; anything else forever (`ms` undefined).
 */
export function simulatedRun(command: CommandInfo | undefined): { ms?: number; exitCode: number } {
  const value = command?.value?.trim() ?? "";
  if (value === "sim:fail") return { ms: 0, exitCode: 1 };
  const after = /^sim:(finish|fail)-after=(\d+(?:\.\d+)?)(ms|s|m|)$/.exec(value);
  if (after) {
    return { ms: Number(after[2]) * UNIT_MS[after[3]!]!, exitCode: after[1] === "fail" ? 1 : 0 };
  }
  const sleep = /^sleep\s+(\d+(?:\.\d+)?)$/.exec(value);
  if (sleep) return { ms: Number(sleep[1]) * 1000, exitCode: 0 };
  const exit = /^exit\s+(\d+)$/.exec(value);
  if (exit) return { ms: 0, exitCode: Number(exit[1]) };
  return { exitCode: 0 };
}

/** Pretends to run containers, on a given clock. */
export class SimulatedContainerizer implements Containerizer {
  readonly kind = "simulated";
  readonly #clock: Clock;
  readonly #entries = new Map<ContainerId, Entry>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched"> {
    if (this.#entries.has(id)) return Promise.resolve("already_launched");
    let settle!: (t: Termination) => void;
    const termination = new Promise<Termination>((resolve) => (settle = resolve));
    const entry: Entry = {
      spec,
      termination,
      stop: new AbortController(),
      settle: (t) => {
        if (entry.settled) return;
        entry.settled = t;
        entry.stop.abort();
        settle(t);
      },
    };
    this.#entries.set(id, entry);
    const run = simulatedRun(spec.command);
    if (run.ms !== undefined) {
      const code = run.exitCode;
      this.#clock.sleep(run.ms, entry.stop.signal).then(
        () =>
          entry.settle({ exitCode: code, reason: "exited", message: `exited with status ${code}` }),
        () => {},
      );
    }
    return Promise.resolve("launched");
  }

  async wait(id: ContainerId): Promise<Termination | undefined> {
    return await this.#entries.get(id)?.termination;
  }

  destroy(id: ContainerId, _graceMs: number): Promise<Termination | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return Promise.resolve(undefined);
    entry.settle({ exitCode: null, reason: "killed", message: "killed by SIGTERM" });
    return entry.termination;
  }

  recover(_known: ReadonlySet<ContainerId>): Promise<RecoveredContainer[]> {
    return Promise.resolve([...this.#entries].map(([id, e]) => ({
      id,
      frameworkId: e.spec.frameworkId,
      taskId: e.spec.taskId,
      ...(e.settled ? { termination: e.settled } : {}),
    })));
  }

  logs(_id: ContainerId, _options: LogOptions): ReadableStream<Uint8Array> {
    return new ReadableStream({ start: (c) => c.close() });
  }

  exec(id: ContainerId, _command: CommandInfo, _timeoutMs: number): Promise<number> {
    const entry = this.#entries.get(id);
    return Promise.resolve(entry && !entry.settled ? 0 : 1);
  }

  /** How many simulated containers still run. */
  running(): number {
    return [...this.#entries.values()].filter((e) => !e.settled).length;
  }
}
