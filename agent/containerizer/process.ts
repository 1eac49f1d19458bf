/**
 * The process containerizer: each task is a plain host process in its own session and process
 * group, started through a tiny `sh` wrapper that sends output to `stdout`/`stderr` files in the
 * sandbox and writes the exit status to the container's run directory, so an agent restarted
 * after the task ended still learns how it ended. No image, no resource limits enforced.
 *
 * Layout under `workDir`: `containers/<id>/meta.json` (pid, start time, task, sandbox, env; the
 * agent's alone, 0600) and `containers/<id>/status/exit_status` (written by the wrapper, which
 * runs as the task's user).
 *
 * A task with a user (`ContainerSpec.user`) runs as that user, as Mesos' agent does with
 * `--switch_user`: its uid and primary gid from the user database and its supplementary groups
 * (`initgroups`, through `setpriv --init-groups`), its sandbox and status directory given to it. An unknown user, or an agent that is
 * not root asked for another user, fails the launch naming the user.
 */
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { CommandInfo } from "../../protocol/mod.ts";
import type {
  ContainerId,
  Containerizer,
  ContainerSpec,
  ContainerStats,
  LogOptions,
  RecoveredContainer,
  Termination,
} from "./containerizer.ts";
import { streamLogFile } from "./log_file.ts";
import { parametersNotApplicable } from "./docker_parameters.ts";
import { groupsNaming, groupUsage, procStat, signalGroup, waitGroupGone } from "./proc.ts";
import {
  blockingDir,
  chownTree,
  lookupUser,
  type SwitchedCommand,
  switchUser,
  type UserAccount,
} from "./user_account.ts";

// $1 = run dir, $2 = sandbox, then the argv to run. The `exit_status` file is written atomically,
// in the run dir's `status/`, the one place there the task's user may write.
const WRAPPER = `r="$1/status"; d="$2"; shift 2
exec >>"$d/stdout" 2>>"$d/stderr" </dev/null
"$@"
s=$?
echo "$s" > "$r/exit_status.tmp" && mv "$r/exit_status.tmp" "$r/exit_status"
exit "$s"`;

const MetaSchema = z.object({
  frameworkId: z.string(),
  taskId: z.string(),
  sandbox: z.string(),
  pid: z.number().int().positive(),
  startTime: z.number(),
  env: z.record(z.string()),
  /** Set when the task runs as another user than the agent. */
  uid: z.number().int().nonnegative().optional(),
  gid: z.number().int().nonnegative().optional(),
});
type Meta = z.infer<typeof MetaSchema>;

interface Entry {
  meta: Meta;
  child?: Deno.ChildProcess;
  termination: Promise<Termination>;
  settle: (t: Termination) => void;
  settled?: Termination;
  destroying?: Promise<Termination>;
  pollTimer?: ReturnType<typeof setTimeout>;
}

/** Options of `ProcessContainerizer`. */
export interface ProcessContainerizerOptions {
  /** Where run directories live (the agent's work dir). */
  workDir: string;
  /** How often adopted processes are polled for exit (default 500 ms). */
  pollMs?: number;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The argv a task's command runs as (Mesos: shell=true means `/bin/sh -c value`). */
export function commandArgv(command: CommandInfo | undefined): string[] {
  if (!command?.value) throw new Error("the task has no command to run");
  if (command.shell === false) return [command.value, ...(command.arguments?.slice(1) ?? [])];
  return ["/bin/sh", "-c", command.value];
}

/**
 * A process has the host's filesystem, so a mount is a symbolic link in its sandbox: only a
 * `containerPath` relative to the sandbox, and only read-write (a link cannot be read-only).
 */
async function linkMounts(spec: ContainerSpec, sandbox: string): Promise<void> {
  for (const m of spec.mounts ?? []) {
    const why = m.containerPath.startsWith("/")
      ? "a process has no filesystem of its own: give a path relative to the sandbox"
      : m.readOnly
      ? "a process cannot be given a read-only volume: run the task in an image"
      : undefined;
    if (why) {
      throw new Error(`Cannot mount "${m.containerPath}" in task "${spec.taskId}": ${why}`);
    }
    const link = `${sandbox}/${m.containerPath.replace(/\/+$/, "")}`;
    if (resolve(link) === resolve(m.hostPath)) continue; // a SELF volume at its own path
    await Deno.mkdir(dirname(link), { recursive: true });
    const existing = await Deno.lstat(link).catch(() => undefined);
    if (existing?.isSymlink) await Deno.remove(link);
    else if (existing) {
      throw new Error(
        `Cannot mount "${m.containerPath}" in task "${spec.taskId}": the sandbox already has it`,
      );
    }
    await Deno.symlink(m.hostPath, link);
  }
}

/** Runs tasks as plain processes in their own process group. */
export class ProcessContainerizer implements Containerizer {
  readonly kind = "process";
  readonly #root: string;
  readonly #pollMs: number;
  readonly #entries = new Map<ContainerId, Entry>();
  #closed = false;

  constructor(options: ProcessContainerizerOptions) {
    this.#root = `${resolve(options.workDir)}/containers`;
    this.#pollMs = options.pollMs ?? 500;
  }

  async launch(id: ContainerId, spec: ContainerSpec): Promise<"launched" | "already_launched"> {
    if (this.#entries.has(id)) return "already_launched";
    // A MESOS container's image too (an APPC one, or any on a process-only agent): running its
    // command on the host instead would ignore the image.
    const image = spec.container?.mesos?.image;
    if (spec.container?.type === "DOCKER" || image) {
      const name = spec.container?.docker?.image ?? image?.docker?.name ?? image?.appc?.name;
      throw new Error(`the process containerizer cannot run image "${name}"`);
    }
    if (spec.pod && spec.pod.network !== "HOST") {
      throw new Error(
        `Cannot launch task "${spec.taskId}": the process containerizer runs tasks on the ` +
          `host's network, not in a pod of their own (${spec.pod.network})`,
      );
    }
    const argv = commandArgv(spec.command);
    const account = await accountOf(spec);
    const runDir = this.#runDir(id);
    const sandbox = resolve(spec.sandbox);
    await Deno.mkdir(sandbox, { recursive: true });
    if (account) await checkReach(spec, sandbox, account);
    await linkMounts(spec, sandbox);
    // Others may pass through the run dir (to its status/), never list or read it.
    await Deno.mkdir(this.#root, { recursive: true, mode: 0o711 });
    await Deno.mkdir(runDir, { mode: 0o711 }).catch(alreadyThere);
    await Deno.chmod(runDir, 0o711);
    await Deno.mkdir(`${runDir}/status`, { mode: 0o700 }).catch(alreadyThere);
    if (account) {
      await chownTree(`${runDir}/status`, account.uid, account.gid);
      await handOver(spec, sandbox, account);
    }
    const env = { PATH: Deno.env.get("PATH") ?? DEFAULT_PATH, ...spec.env };
    const run = await asUser(account, "/bin/sh", [
      "-c",
      WRAPPER,
      "tender-task",
      runDir,
      sandbox,
      ...argv,
    ]);
    const child = new Deno.Command(run.program, {
      args: run.args,
      cwd: sandbox,
      env,
      clearEnv: true,
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      ...run.ids,
    }).spawn();
    const stat = await procStat(child.pid);
    const meta: Meta = {
      frameworkId: spec.frameworkId,
      taskId: spec.taskId,
      sandbox,
      pid: child.pid,
      startTime: stat?.startTime ?? 0,
      env,
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    };
    // The task's environment may hold secrets: only the agent reads it.
    await Deno.writeTextFile(`${runDir}/meta.json`, JSON.stringify(meta), { mode: 0o600 });
    const entry = this.#entry(id, meta);
    entry.child = child;
    child.status.then((s) => {
      if (entry.destroying) return;
      const code = s.signal === null ? s.code : null;
      entry.settle({
        exitCode: code,
        reason: "exited",
        message: code === null ? `terminated by ${s.signal}` : `exited with status ${code}`,
      });
    });
    return "launched";
  }

  refusal(spec: ContainerSpec): string | undefined {
    return parametersNotApplicable(spec, "a process");
  }

  async wait(id: ContainerId): Promise<Termination | undefined> {
    return await this.#entries.get(id)?.termination;
  }

  async destroy(id: ContainerId, graceMs: number): Promise<Termination | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    entry.destroying ??= this.#destroy(id, entry, graceMs);
    return await entry.destroying;
  }

  async #destroy(id: ContainerId, entry: Entry, graceMs: number): Promise<Termination> {
    const pgid = entry.meta.pid;
    let term = entry.settled;
    if (!term) {
      signalGroup(pgid, "SIGTERM");
      let by = "SIGTERM";
      if (!(await waitGroupGone(pgid, graceMs))) {
        by = "SIGKILL";
        signalGroup(pgid, "SIGKILL");
        await waitGroupGone(pgid, 10_000);
      }
      const status = await entry.child?.status;
      const code = status && status.signal === null ? status.code : null;
      term = entry.settled ?? { exitCode: code, reason: "killed", message: `killed by ${by}` };
      entry.settle(term);
    } else {
      // Ended by itself: stop whatever it left running in its group.
      signalGroup(pgid, "SIGKILL");
      await waitGroupGone(pgid, 10_000);
    }
    await Deno.remove(this.#runDir(id), { recursive: true }).catch(() => undefined);
    return term;
  }

  async recover(_known: ReadonlySet<ContainerId>): Promise<RecoveredContainer[]> {
    const out: RecoveredContainer[] = [];
    let dirs: Deno.DirEntry[];
    try {
      dirs = await Array.fromAsync(Deno.readDir(this.#root));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    for (const dir of dirs) {
      const id = dir.name;
      let entry = this.#entries.get(id);
      if (!entry) {
        const meta = await readMeta(`${this.#runDir(id)}/meta.json`);
        if (!meta) {
          await this.#endUnrecorded(id);
          continue;
        }
        entry = this.#entry(id, meta);
        const stat = await procStat(meta.pid);
        if (stat && stat.startTime === meta.startTime) this.#poll(id, entry);
        else entry.settle(await this.#endedWhileAway(id));
      }
      out.push({
        id,
        frameworkId: entry.meta.frameworkId,
        taskId: entry.meta.taskId,
        ...(entry.settled ? { termination: entry.settled } : {}),
      });
    }
    return out;
  }

  logs(id: ContainerId, options: LogOptions): ReadableStream<Uint8Array> {
    const entry = this.#entries.get(id);
    if (!entry) return new ReadableStream({ start: (c) => c.close() });
    return streamLogFile(`${entry.meta.sandbox}/${options.stream}`, {
      tail: options.tail,
      follow: options.follow,
      signal: options.signal,
      ended: () => entry.settled !== undefined,
    });
  }

  /** The task's process group's CPU time and memory, from `/proc`. */
  async stats(id: ContainerId): Promise<ContainerStats | undefined> {
    const entry = this.#entries.get(id);
    if (!entry || entry.settled) return undefined;
    const usage = await groupUsage(entry.meta.pid);
    return usage && {
      cpuUserSeconds: usage.userSeconds,
      cpuSystemSeconds: usage.systemSeconds,
      memRssBytes: usage.rssBytes,
    };
  }

  async exec(id: ContainerId, command: CommandInfo, timeoutMs: number): Promise<number> {
    const entry = this.#entries.get(id);
    if (!entry) throw new Error(`container "${id}" is unknown`);
    const [program, ...args] = commandArgv(command);
    const { uid, gid } = entry.meta;
    const run = await asUser(
      uid !== undefined && gid !== undefined ? { uid, gid } : undefined,
      program!,
      args,
    );
    const child = new Deno.Command(run.program, {
      args: run.args,
      cwd: entry.meta.sandbox,
      env: entry.meta.env,
      clearEnv: true,
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      ...run.ids,
    }).spawn();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([child.status, timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      signalGroup(child.pid, "SIGKILL");
      await child.status;
      throw new Error(`command timed out after ${timeoutMs} ms`);
    }
    return result.signal === null ? result.code : 128 + 9;
  }

  /** Stops polling adopted processes (tasks keep running). */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) clearTimeout(entry.pollTimer);
  }

  #runDir(id: ContainerId): string {
    return `${this.#root}/${id}`;
  }

  #entry(id: ContainerId, meta: Meta): Entry {
    let settle!: (t: Termination) => void;
    const termination = new Promise<Termination>((resolve) => (settle = resolve));
    const entry: Entry = {
      meta,
      termination,
      settle: (t) => {
        if (entry.settled) return;
        entry.settled = t;
        settle(t);
      },
    };
    this.#entries.set(id, entry);
    return entry;
  }

  /** Watches an adopted process (not our child: no exit status but the wrapper's file). */
  #poll(id: ContainerId, entry: Entry): void {
    const tick = async () => {
      if (this.#closed || entry.settled || entry.destroying) return;
      const stat = await procStat(entry.meta.pid);
      if (stat && stat.startTime === entry.meta.startTime) {
        if (!this.#closed) entry.pollTimer = setTimeout(tick, this.#pollMs);
        return;
      }
      if (!entry.destroying) entry.settle(await this.#endedWhileAway(id));
    };
    entry.pollTimer = setTimeout(tick, this.#pollMs);
  }

  /**
   * A run dir without meta.json is a launch the agent did not live to record (killed between
   * starting the wrapper and writing meta.json): no task record names its process, so nothing
   * would ever stop it. Its wrapper names the run dir on its command line: its group is killed
   * and the dir removed, as Mesos destroys a container it finds but does not know.
   */
  async #endUnrecorded(id: ContainerId): Promise<void> {
    const runDir = this.#runDir(id);
    const own = (await procStat(Deno.pid))?.pgrp;
    for (const pgid of await groupsNaming(runDir)) {
      if (pgid === own) continue;
      signalGroup(pgid, "SIGKILL");
      await waitGroupGone(pgid, 10_000);
    }
    await Deno.remove(runDir, { recursive: true }).catch(() => undefined);
  }

  async #endedWhileAway(id: ContainerId): Promise<Termination> {
    // status/exit_status; exit_status in the run dir itself from agents before status/.
    for (const file of ["status/exit_status", "exit_status"]) {
      try {
        const code = Number((await Deno.readTextFile(`${this.#runDir(id)}/${file}`)).trim());
        if (Number.isInteger(code)) {
          return { exitCode: code, reason: "exited", message: `exited with status ${code}` };
        }
      } catch { /* no status written: killed with its wrapper */ }
    }
    return {
      exitCode: null,
      reason: "exited",
      message: "ended with an unknown status while the agent was away",
    };
  }
}

function alreadyThere(e: unknown): void {
  if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
}

/**
 * The account the task switches to, or undefined when it runs as the agent (no user asked, or
 * the agent's own). Throws, naming the user, when it is unknown or the agent cannot switch.
 */
async function accountOf(spec: ContainerSpec): Promise<UserAccount | undefined> {
  if (!spec.user) return undefined;
  const { name } = spec.user;
  const account = await lookupUser(name);
  const cannot = `Cannot run task "${spec.taskId}" as user "${name}"`;
  if (!account) throw new Error(`${cannot}: there is no such user on this agent`);
  const self = Deno.uid();
  if (account.uid === self) return undefined;
  if (self !== 0) {
    throw new Error(
      `${cannot}: the agent runs as uid ${self}, not root, and cannot switch users ` +
        `(run the agent as root, or with --no-switch-user)`,
    );
  }
  return account;
}

/** `program args` as it is spawned: as the agent, or switched to `ids` with their groups. */
async function asUser(
  ids: { uid: number; gid: number } | undefined,
  program: string,
  args: string[],
): Promise<SwitchedCommand> {
  if (!ids) return { program, args };
  return await switchUser(ids, {
    program,
    args,
    warn: (msg) => console.warn(JSON.stringify({ level: "warn", msg })),
  });
}

/**
 * Gives the task's user its sandbox (0700, as Mesos chowns it), and the pod's directory and
 * the SANDBOX_PATH volumes the agent made for it, so it may write where it is meant to.
 */
/** Throws, naming the directory, when the task's user could not reach its sandbox. */
async function checkReach(spec: ContainerSpec, sandbox: string, account: UserAccount) {
  // The sandbox itself is handed over; the directories above it must let the user pass.
  const blocked = await blockingDir(dirname(sandbox), account);
  if (blocked) {
    throw new Error(
      `Cannot run task "${spec.taskId}" as user "${account.name}": it cannot reach its sandbox, ` +
        `${blocked.dir} (mode ${blocked.mode.toString(8).padStart(4, "0")}) is closed to it; ` +
        `give the agent a work dir others may pass through`,
    );
  }
}

async function handOver(spec: ContainerSpec, sandbox: string, account: UserAccount) {
  await chownTree(sandbox, account.uid, account.gid);
  await Deno.chmod(sandbox, 0o700);
  if (spec.pod) await Deno.chown(spec.pod.dir, account.uid, account.gid);
  for (const m of spec.mounts ?? []) {
    const ours = spec.pod && m.hostPath.startsWith(`${spec.pod.dir}/`);
    if (ours) await chownTree(m.hostPath, account.uid, account.gid);
  }
}

async function readMeta(path: string): Promise<Meta | undefined> {
  try {
    return MetaSchema.parse(JSON.parse(await Deno.readTextFile(path)));
  } catch {
    return undefined;
  }
}
