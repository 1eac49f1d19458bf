/**
 * Scheduler calls other than SUBSCRIBE. Each validates everything first and throws a 400
 * error naming the problem, so a rejected call changes nothing; then it applies.
 */
import type {
  Call,
  ExecutorInfo,
  Filters,
  KillPolicy,
  Operation,
  TaskInfo,
} from "../../protocol/mod.ts";
import { badRequest, checkRecordSize, pathSafeId } from "../../base/mod.ts";
import { isTerminalState, parameterReach, redactSecrets, Resources } from "../../protocol/mod.ts";
import { type AclAction, forbidden } from "../../security/mod.ts";
import type { OfferRecord } from "../allocator/offer_book.ts";
import type { MasterContext } from "./context.ts";
import { isPartitionAware, masterStatus } from "./frameworks.ts";
import { refuseUntil, returnOffer } from "./offers.ts";
import {
  type Conversion,
  publishAgentTotal,
  validateOperation,
  volumeKeys,
} from "./reservations.ts";
import type { FrameworkRecord, TaskRecord } from "./records.ts";
import { executorIdOf } from "./records.ts";

type CallOf<T extends Call["type"]> = Extract<Call, { type: T }>;

/** One task to launch, with the executor of its group when it came in a LAUNCH_GROUP. */
interface Launch {
  task: TaskInfo;
  group?: { executor: ExecutorInfo; tasks: TaskInfo[] };
  resources: Resources;
}

/** ACCEPT: launches tasks on the offered resources; the unused rest is declined. */
export function accept(ctx: MasterContext, call: CallOf<"ACCEPT">): void {
  const frameworkId = call.framework_id.value;
  const offers = validOffers(ctx, frameworkId, call.accept.offer_ids.map((o) => o.value));
  const first = offers[0]!;
  const framework = ctx.frameworks.get(frameworkId)!;
  const offered = offers.reduce((sum, o) => sum.add(o.resources), Resources.empty());
  const { launches, conversions, converted } = validOperations(ctx, {
    frameworkId,
    agentId: first.agentId,
    role: first.role,
    principal: framework.info.principal,
    offered,
    offerIds: offers.map((o) => o.id),
    operations: call.accept.operations,
  });
  for (const o of offers) ctx.offers.take(o.id);
  // RESERVE, UNRESERVE, CREATE and DESTROY first, in order, then the launches (as Mesos).
  for (const c of conversions) {
    ctx.allocator.convertAllocated(
      { frameworkId, role: first.role, agentId: first.agentId, resources: c.from },
      c.to,
    );
  }
  if (conversions.length > 0) publishAgentTotal(ctx, first.agentId);
  let unused = converted;
  const sentGroups = new Set<unknown>();
  const refusals = launchRefusals(ctx, framework, launches);
  for (const launch of launches) {
    const refusal = refusals.get(launch.group ?? launch.task);
    if (refusal !== undefined) {
      // As Mesos answers an unauthorized task: TASK_ERROR, nothing recorded or launched.
      ctx.sendToFramework(frameworkId, {
        type: "UPDATE",
        update: {
          status: masterStatus(ctx, { taskId: launch.task.task_id.value, agentId: first.agentId }, {
            state: "TASK_ERROR",
            reason: "REASON_TASK_UNAUTHORIZED",
            message: refusal,
          }),
        },
      });
      continue;
    }
    unused = unused.subtract(launch.resources);
    const record: TaskRecord = {
      frameworkId,
      agentId: first.agentId,
      role: first.role,
      // Secrets' bytes go to the agent only: what the master keeps (and shows) has none.
      info: redactSecrets(launch.task),
      resources: launch.resources.toMesos(first.role),
      state: "TASK_STAGING",
      statuses: [],
      killRequested: false,
      ...(launch.group ? { executorId: launch.group.executor.executor_id.value } : {}),
    };
    ctx.putTask(record);
    ctx.counters.tasksLaunched += 1;
    if (launch.group) {
      if (sentGroups.has(launch.group)) continue;
      sentGroups.add(launch.group);
      ctx.sendToAgent(first.agentId, {
        type: "LAUNCH_GROUP",
        launch_group: {
          framework_id: { value: frameworkId },
          framework_info: framework.info,
          executor: launch.group.executor,
          tasks: launch.group.tasks,
        },
      });
    } else {
      ctx.sendToAgent(first.agentId, {
        type: "LAUNCH",
        launch: {
          framework_id: { value: frameworkId },
          framework_info: framework.info,
          task: launch.task,
        },
      });
    }
  }
  // The launched resources stay allocated (now used); the rest is declined, or with an explicit
  // refuse_seconds of 0 goes back unfiltered and is offered again at once (the framework has
  // more to launch than one offer may carry).
  const refuse = call.accept.filters?.refuse_seconds;
  returnOffer(ctx, first, unused, refuse === 0 ? undefined : refuseUntil(ctx, refuse));
  ctx.counters.offersAccepted += offers.length;
}

/**
 * Why each launch (a task, or a task group as a whole) is not authorized, by the framework's
 * principal: `run_tasks` as the task's user (its command's, else the framework's), and what
 * reaches past the sandbox — a privileged container (`launch_privileged_containers`, by user)
 * and each host path mounted (`mount_host_paths`), both refused unless an ACL allows them.
 */
function launchRefusals(
  ctx: MasterContext,
  framework: FrameworkRecord,
  launches: readonly Launch[],
): Map<TaskInfo | Launch["group"], string> {
  const refusals = new Map<TaskInfo | Launch["group"], string>();
  const principal = framework.info.principal;
  for (const launch of launches) {
    const key = launch.group ?? launch.task;
    if (refusals.has(key)) continue;
    const user = launch.task.command?.user ?? framework.info.user;
    const checks: [AclAction, string][] = [["run_tasks", user]];
    for (const container of [launch.task.container, launch.group?.executor.container]) {
      // Docker parameters that reach past the container need what `privileged` and host
      // mounts need (protocol/docker_parameters.ts).
      const reach = parameterReach(container?.docker?.parameters ?? []);
      if (container?.docker?.privileged || reach.privileged) {
        checks.push(["launch_privileged_containers", user]);
      }
      for (const path of reach.hostPaths) checks.push(["mount_host_paths", path]);
      for (const volume of container?.volumes ?? []) {
        const path = volume.source
          ? (volume.source.type === "HOST_PATH" ? volume.source.host_path?.path : undefined)
          : volume.host_path;
        if (path !== undefined) checks.push(["mount_host_paths", path]);
      }
    }
    for (const [action, object] of checks) {
      if (ctx.authorizer.allows(action, principal, object)) continue;
      const what = launch.group ? "Task group of task" : "Task";
      refusals.set(
        key,
        `${what} "${launch.task.task_id.value}" is not authorized: ${
          forbidden(action, principal, object).message
        }`,
      );
      break;
    }
  }
  return refusals;
}

/** DECLINE: gives the offers back, filtered from this framework for `refuse_seconds`. */
export function decline(
  ctx: MasterContext,
  frameworkId: string,
  decline: { offer_ids: { value: string }[]; filters?: Filters },
): void {
  const offers = validOffers(ctx, frameworkId, decline.offer_ids.map((o) => o.value), {
    sameAgent: false,
  });
  const until = refuseUntil(ctx, decline.filters?.refuse_seconds);
  for (const offer of offers) {
    ctx.offers.take(offer.id);
    returnOffer(ctx, offer, offer.resources, until);
  }
  ctx.counters.offersDeclined += offers.length;
}

/** KILL: asks the task's agent to kill it; an unknown task is answered with TASK_LOST. */
export function kill(
  ctx: MasterContext,
  frameworkId: string,
  kill: { task_id: { value: string }; agent_id?: { value: string }; kill_policy?: KillPolicy },
): void {
  const taskId = kill.task_id.value;
  const task = ctx.getTask(frameworkId, taskId);
  if (!task || isTerminalState(task.state)) {
    const framework = ctx.frameworks.get(frameworkId);
    const latest = task?.statuses[task.statuses.length - 1];
    const status = latest && task
      ? { ...latest, uuid: undefined, reason: "REASON_RECONCILIATION" }
      : masterStatus(ctx, { taskId, agentId: kill.agent_id?.value ?? "" }, {
        state: isPartitionAware(framework) ? "TASK_UNKNOWN" : "TASK_LOST",
        reason: "REASON_TASK_UNKNOWN",
        message: `Cannot kill task "${taskId}": it is unknown to the master`,
      });
    ctx.sendToFramework(frameworkId, { type: "UPDATE", update: { status } });
    return;
  }
  const killPolicy = kill.kill_policy ?? task.info.kill_policy;
  if (task.drainingKill && !task.drainingKill.sent) return; // the kill follows the drain
  if (task.drainingKill?.sent) return sendKill(ctx, task, killPolicy); // again, as asked
  const routed = task.state === "TASK_RUNNING" &&
    task.resources.some((r) => r.name === "ports" && (r.ranges?.range.length ?? 0) > 0);
  if (routed && ctx.options.drainMs > 0 && ctx.agentConnections.has(task.agentId)) {
    // Routers drop it from their pools first; the kill follows (see sendDueKills).
    ctx.putTask({
      ...task,
      drainingKill: { at: ctx.now() + ctx.options.drainMs, killPolicy, sent: false },
    });
    return;
  }
  if (routed) {
    // No time to drain, but routers still stop using it at once.
    ctx.putTask({ ...task, drainingKill: { at: ctx.now(), killPolicy, sent: true } });
  }
  sendKill(ctx, ctx.getTask(frameworkId, taskId)!, killPolicy);
}

/** Sends the kills whose drain time has come. */
export function sendDueKills(ctx: MasterContext): void {
  const now = ctx.now();
  for (const key of [...ctx.draining]) {
    const task = ctx.tasks.get(key);
    if (!task?.drainingKill || task.drainingKill.sent || task.drainingKill.at > now) continue;
    // Still draining until it ends: a task that ignores SIGTERM must not come back.
    const sent = { ...task, drainingKill: { ...task.drainingKill, sent: true } };
    ctx.putTask(sent);
    if (!isTerminalState(sent.state)) sendKill(ctx, sent, task.drainingKill.killPolicy);
  }
}

function sendKill(ctx: MasterContext, task: TaskRecord, killPolicy: KillPolicy | undefined): void {
  const sent = ctx.sendToAgent(task.agentId, {
    type: "KILL",
    kill: {
      framework_id: { value: task.frameworkId },
      task_id: task.info.task_id,
      kill_policy: killPolicy,
    },
  });
  if (!sent) ctx.putTask({ ...task, killRequested: true });
}

/** ACKNOWLEDGE: the framework has the update; the agent may send the next one. */
export function acknowledge(ctx: MasterContext, call: CallOf<"ACKNOWLEDGE">): void {
  const frameworkId = call.framework_id.value;
  const { task_id, agent_id, uuid } = call.acknowledge;
  const task = ctx.getTask(frameworkId, task_id.value);
  if (task && task.agentId !== agent_id.value) {
    throw badRequest(
      `Cannot acknowledge task "${task_id.value}": it runs on agent "${task.agentId}", not "${agent_id.value}"`,
    );
  }
  ctx.sendToAgent(agent_id.value, {
    type: "ACKNOWLEDGE",
    acknowledge: { framework_id: { value: frameworkId }, task_id, uuid },
  });
  ctx.forwarded.delete(uuid);
  if (!task || task.pendingUuid !== uuid) return;
  if (isTerminalState(task.state)) ctx.removeTask(task);
  else ctx.putTask({ ...task, pendingUuid: undefined });
}

/** RECONCILE: the latest state of the named tasks, or of all the framework's tasks. */
export function reconcile(ctx: MasterContext, call: CallOf<"RECONCILE">): void {
  const frameworkId = call.framework_id.value;
  const framework = ctx.frameworks.get(frameworkId);
  const asked = call.reconcile.tasks;
  const tasks = asked.length === 0
    ? ctx.tasksOfFramework(frameworkId).map((t) => ({ taskId: t.info.task_id.value, task: t }))
    : asked.map((a) => ({
      taskId: a.task_id.value,
      task: ctx.getTask(frameworkId, a.task_id.value),
      agentId: a.agent_id?.value,
    }));
  for (const { taskId, task } of tasks) {
    const latest = task?.statuses[task.statuses.length - 1];
    const status = task
      ? masterStatus(ctx, { taskId, agentId: task.agentId }, {
        state: task.state,
        reason: "REASON_RECONCILIATION",
        message: "Reconciliation: latest task state",
        healthy: latest?.healthy,
        container_status: latest?.container_status,
      })
      : masterStatus(ctx, { taskId, agentId: "" }, {
        state: isPartitionAware(framework) ? "TASK_UNKNOWN" : "TASK_LOST",
        reason: "REASON_RECONCILIATION",
        message: "Reconciliation: task is unknown to the master",
      });
    ctx.sendToFramework(frameworkId, { type: "UPDATE", update: { status } });
  }
}

/** REVIVE and SUPPRESS. */
export function setSuppressed(
  ctx: MasterContext,
  frameworkId: string,
  options: { suppress: boolean; roles?: string[] },
): void {
  const framework = ctx.frameworks.get(frameworkId)!;
  const roles = options.roles && options.roles.length > 0 ? options.roles : framework.roles;
  const unknown = roles.filter((r) => !framework.roles.includes(r));
  if (unknown.length > 0) {
    throw badRequest(`Role "${unknown[0]}" is not one of the framework's roles`);
  }
  if (options.suppress) ctx.allocator.suppress(frameworkId, roles);
  else {
    ctx.allocator.revive(frameworkId, roles);
    ctx.wantAllocation();
  }
  const suppressed = new Set(framework.suppressedRoles);
  for (const r of roles) options.suppress ? suppressed.add(r) : suppressed.delete(r);
  ctx.putFramework({ ...framework, suppressedRoles: [...suppressed] });
}

/** SHUTDOWN: kills every task launched with that executor on that agent. */
export function shutdownExecutor(ctx: MasterContext, call: CallOf<"SHUTDOWN">): void {
  const frameworkId = call.framework_id.value;
  const executorId = call.shutdown.executor_id.value;
  const tasks = ctx.tasksOfAgent(call.shutdown.agent_id.value).filter((t) =>
    t.frameworkId === frameworkId && executorIdOf(t) === executorId
  );
  if (tasks.length === 0) {
    throw badRequest(
      `Executor "${executorId}" is unknown on agent "${call.shutdown.agent_id.value}"`,
    );
  }
  for (const t of tasks) {
    if (!isTerminalState(t.state)) kill(ctx, frameworkId, { task_id: t.info.task_id });
  }
}

function validOffers(
  ctx: MasterContext,
  frameworkId: string,
  ids: string[],
  options: { sameAgent: boolean } = { sameAgent: true },
): OfferRecord[] {
  const seen = new Set<string>();
  const offers: OfferRecord[] = [];
  for (const id of ids) {
    if (seen.has(id)) throw badRequest(`Offer "${id}" appears more than once in the call`);
    seen.add(id);
    const offer = ctx.offers.get(id);
    if (!offer) {
      throw badRequest(`Offer "${id}" is unknown or no longer valid (used, declined or rescinded)`);
    }
    if (offer.frameworkId !== frameworkId) {
      throw badRequest(`Offer "${id}" was made to another framework`);
    }
    const first = offers[0];
    if (options.sameAgent && first && first.agentId !== offer.agentId) {
      throw badRequest(
        `Offers "${first.id}" and "${id}" are for different agents; one ACCEPT takes one agent's offers`,
      );
    }
    if (options.sameAgent && first && first.role !== offer.role) {
      throw badRequest(`Offers "${first.id}" and "${id}" are for different roles`);
    }
    offers.push(offer);
  }
  return offers;
}

/**
 * Validates an ACCEPT's operations in order over the offered resources: what each launch takes,
 * what each RESERVE/UNRESERVE/CREATE/DESTROY converts, and the offer as converted.
 */
function validOperations(
  ctx: MasterContext,
  a: {
    frameworkId: string;
    agentId: string;
    role: string;
    principal: string | undefined;
    offered: Resources;
    offerIds: string[];
    operations: CallOf<"ACCEPT">["accept"]["operations"];
  },
): { launches: Launch[]; conversions: Conversion[]; converted: Resources } {
  const launches: Launch[] = [];
  const conversions: Conversion[] = [];
  let converted = a.offered;
  const volumes = volumeKeys(ctx.allocator.totalOf(a.agentId) ?? Resources.empty());
  const ids = new Set<string>();
  let remaining = a.offered;
  const offerNames = a.offerIds.map((id) => `"${id}"`).join(", ");
  const take = (what: string, resources: Resources) => {
    if (!remaining.contains(resources)) {
      throw badRequest(
        `${what} needs ${resources} but offer ${offerNames} has only ${remaining} left`,
      );
    }
    remaining = remaining.subtract(resources);
  };
  for (const [i, op] of a.operations.entries()) {
    if (op.type === "LAUNCH") {
      if (!op.launch) throw badRequest(`operations[${i}]: LAUNCH needs 'launch'`);
      for (const task of op.launch.task_infos) {
        checkTask(ctx, { ...a, task, ids, hasExecutor: false });
        const resources = Resources.fromMesos(task.resources);
        take(`Task "${task.task_id.value}"`, resources);
        launches.push({ task, resources });
      }
    } else if (op.type === "LAUNCH_GROUP") {
      const group = op.launch_group;
      if (!group) throw badRequest(`operations[${i}]: LAUNCH_GROUP needs 'launch_group'`);
      if (group.task_group.tasks.length === 0) {
        throw badRequest(`operations[${i}]: LAUNCH_GROUP needs at least one task`);
      }
      pathSafeId("executor id", group.executor.executor_id.value);
      const executor = Resources.fromMesos(group.executor.resources ?? []);
      take(`Executor "${group.executor.executor_id.value}"`, executor);
      const g = { executor: group.executor, tasks: group.task_group.tasks };
      group.task_group.tasks.forEach((task, n) => {
        checkTask(ctx, { ...a, task, ids, hasExecutor: true });
        const resources = Resources.fromMesos(task.resources);
        take(`Task "${task.task_id.value}"`, resources);
        launches.push({ task, group: g, resources: n === 0 ? resources.add(executor) : resources });
      });
    } else if (
      op.type === "RESERVE" || op.type === "UNRESERVE" || op.type === "CREATE" ||
      op.type === "DESTROY"
    ) {
      const resources = operationResources(op, i);
      const c = validateOperation(ctx, {
        agentId: a.agentId,
        op: { type: op.type, resources },
        requester: { principal: a.principal, offerRole: a.role },
        available: remaining,
        volumes,
        what: `operations[${i}]`,
        insufficient: "bad_request",
      });
      remaining = remaining.subtract(c.from).add(c.to);
      converted = converted.subtract(c.from).add(c.to);
      conversions.push(c);
    } else {
      throw badRequest(`operations[${i}]: operation ${op.type} is not supported by Tender`);
    }
  }
  return { launches, conversions, converted };
}

/** The resources of a RESERVE/UNRESERVE (`reserve.resources`) or CREATE/DESTROY (`volumes`). */
function operationResources(op: Operation, i: number): Resources {
  const field = op.type === "RESERVE"
    ? op.reserve?.resources
    : op.type === "UNRESERVE"
    ? op.unreserve?.resources
    : op.type === "CREATE"
    ? op.create?.volumes
    : op.destroy?.volumes;
  if (field === undefined) {
    throw badRequest(`operations[${i}]: ${op.type} needs '${op.type.toLowerCase()}'`);
  }
  if (op.type === "RESERVE" && op.reserve?.source !== undefined) {
    const source = Resources.fromMesos(op.reserve.source);
    const resources = Resources.fromMesos(field);
    const popped = resources.withMeta((m) => ({ reservations: m.reservations.slice(0, -1) }));
    if (!source.equals(popped)) {
      throw badRequest(
        `operations[${i}]: reserve.source ${source} is not reserve.resources without their ` +
          `new reservation (${popped})`,
      );
    }
  }
  return Resources.fromMesos(field);
}

function checkTask(
  ctx: MasterContext,
  a: {
    frameworkId: string;
    agentId: string;
    offerIds: string[];
    task: TaskInfo;
    ids: Set<string>;
    hasExecutor: boolean;
  },
): void {
  const { task } = a;
  const id = pathSafeId("task id", task.task_id.value);
  checkRecordSize(`Task "${id}"`, task);
  if (task.agent_id.value !== a.agentId) {
    throw badRequest(
      `Task "${id}" names agent "${task.agent_id.value}" but offer "${
        a.offerIds[0]
      }" is for agent "${a.agentId}"`,
    );
  }
  if (a.ids.has(id)) throw badRequest(`Task "${id}" appears more than once in the call`);
  a.ids.add(id);
  const existing = ctx.getTask(a.frameworkId, id);
  if (existing && !isTerminalState(existing.state)) {
    throw badRequest(`Task "${id}" already exists and is ${existing.state}`);
  }
  if (!task.command && !task.container && !task.executor && !a.hasExecutor) {
    throw badRequest(`Task "${id}" needs a 'command', a 'container' or an 'executor'`);
  }
  if (task.container?.type === "DOCKER" && !task.container.docker) {
    throw badRequest(`Task "${id}": a DOCKER container needs 'container.docker.image'`);
  }
  if (task.resources.length === 0) throw badRequest(`Task "${id}" uses no resources`);
}
