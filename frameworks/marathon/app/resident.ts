/**
 * Resident apps (persistent volumes): the rules that need more than the app itself — the role
 * its resources are reserved for, and what an update may not change (Marathon's
 * `residentUpdateIsValid`) — and the resources one instance reserves. Pure.
 */
import { type App, isResident } from "./normalize.ts";
import { hostPortRequests } from "./ports.ts";
import { type Violation, Violations } from "./violations.ts";

/** What `residentViolations` checks an app against. */
export interface ResidentContext {
  /** The role Marathon registers with (`--mesos-role`, default `*`). */
  role: string;
  /** The app as stored before this change, if any. */
  previous?: App;
}

/** Every rule a resident app (or an update to or from one) breaks; empty when none. */
export function residentViolations(app: App, ctx: ResidentContext): Violation[] {
  const v = new Violations();
  if (isResident(app)) {
    const role = app.role ?? ctx.role;
    // Reserved resources belong to a role; "*" cannot hold a reservation (Marathon's rule).
    if (role === "*") v.add("/role", "Resident apps cannot have the role *");
    else if (role !== ctx.role) {
      v.add(
        "/role",
        `Tender runs every app under Marathon's role "${ctx.role}" (--mesos-role): ` +
          `a resident app cannot reserve for "${role}"`,
      );
    }
  }
  const from = ctx.previous;
  if (from && (isResident(from) || isResident(app))) {
    if (!sameVolumes(from, app)) v.add("/", "Persistent volumes can not be changed!");
    if (!sameResources(from, app)) {
      v.add("/", "Resident Tasks may not change resource requirements!");
    }
  }
  return v.list();
}

function persistentVolumes(app: App) {
  return (app.container?.volumes ?? []).filter((v) => v.persistent !== undefined);
}

function sameVolumes(from: App, to: App): boolean {
  const a = persistentVolumes(from);
  const b = persistentVolumes(to);
  return a.length === b.length && a.every((va) => {
    const vb = b.find((x) => x.containerPath === va.containerPath);
    return vb !== undefined && JSON.stringify(vb) === JSON.stringify(va);
  });
}

function sameResources(from: App, to: App): boolean {
  const ports = (app: App) => JSON.stringify([...new Set(hostPortRequests(app))].sort());
  return from.cpus === to.cpus && from.mem === to.mem && from.disk === to.disk &&
    from.gpus === to.gpus && ports(from) === ports(to) && from.requirePorts === to.requirePorts;
}

/** The disk one instance reserves: the sandbox's `disk` plus every persistent volume's size. */
export function reservedDisk(app: App): number {
  return app.disk + persistentVolumes(app).reduce((n, v) => n + v.persistent!.size, 0);
}

/** The app's persistent volumes (container path, size), in declaration order. */
export function persistentVolumesOf(app: App): { containerPath: string; size: number }[] {
  return persistentVolumes(app).map((v) => ({
    containerPath: v.containerPath,
    size: v.persistent!.size,
  }));
}
