/**
 * The pod matcher: whether one more instance of a pod fits an offer (roles, containerizer,
 * constraints, the containers' resources plus the executor's, every endpoint's host port) and,
 * when it does, what each container and the executor take. Pure; "does not fit" is a value
 * with Marathon's reason name first, as for apps.
 */
import {
  CONTAINERIZERS_ATTRIBUTE,
  type Offer,
  type Resource,
  Resources,
  runsImages,
} from "../../../protocol/mod.ts";
import { parseConstraints } from "../app/constraint.ts";
import type { Pod } from "../pod/schema.ts";
import { podRunSpec } from "../pod/run_spec.ts";
import type { AgentSite } from "./agent_values.ts";
import { constraintsFit } from "./constraints.ts";
import { pickHostPorts } from "./host_ports.ts";
import { offerSite } from "./offer_matcher.ts";

/** Where a pod instance was placed and what each part of it takes. */
export interface PodMatch {
  agentId: string;
  hostname: string;
  /** Per container, in the pod's order: its resources, host ports included. */
  containers: Resource[][];
  executor: Resource[];
  /** Per container: one host port per endpoint that asks for one, in endpoint order. */
  hostPorts: number[][];
}

/** What to take from an offer for one pod instance, or why it does not fit. */
export type PodFit = ({ ok: true } & Omit<PodMatch, "agentId" | "hostname">) | {
  ok: false;
  reason: string;
};

const SCALARS = [
  ["cpus", "InsufficientCpus"],
  ["mem", "InsufficientMemory"],
  ["disk", "InsufficientDisk"],
  ["gpus", "InsufficientGpus"],
] as const;

/** Whether one instance of `pod` fits `offer`, given the sites of its placed instances. */
export function matchPodOffer(pod: Pod, offer: Offer, placed: readonly AgentSite[]): PodFit {
  const roles = pod.scheduling.placement.acceptedResourceRoles;
  const usable = roles.length > 0
    ? offer.resources.filter((r) => roles.includes(r.role ?? "*"))
    : offer.resources;
  if (usable.length === 0) {
    return { ok: false, reason: "UnfulfilledRole: no resources in an accepted role" };
  }
  if (pod.containers.some((c) => c.image) && !runsImages(offer.attributes)) {
    const has = offer.attributes.find((a) => a.name === CONTAINERIZERS_ATTRIBUTE)?.text?.value;
    return {
      ok: false,
      reason: `UnfulfilledContainerizer: the agent runs no images (containerizers: ${has})`,
    };
  }
  const fit = constraintsFit(
    parseConstraints(podRunSpec(pod).constraints),
    offerSite(offer),
    placed,
  );
  if (!fit.ok) return fit;

  const have = Resources.fromMesos(usable);
  const total: Record<string, number> = { ...pod.executorResources, gpus: 0 };
  for (const c of pod.containers) {
    for (const [name] of SCALARS) total[name] = (total[name] ?? 0) + c.resources[name];
  }
  for (const [name, reason] of SCALARS) {
    const need = total[name] ?? 0;
    if (need > 0 && have.scalar(name) < need) {
      return { ok: false, reason: `${reason}: need ${need}, offer has ${have.scalar(name)}` };
    }
  }
  const requests = pod.containers.map((c) =>
    c.endpoints.flatMap((e) => (e.hostPort !== undefined ? [e.hostPort] : []))
  );
  const pick = pickHostPorts(requests.flat(), have.ranges("ports"));
  if (!pick.ok) return pick;

  const role = offer.allocation_info?.role;
  let next = 0;
  const hostPorts = requests.map((r) => pick.ports.slice(next, next += r.length));
  const containers = pod.containers.map((c, i) => {
    const scalars = Object.fromEntries(
      SCALARS.map(([name]) => [name, c.resources[name]]).filter(([, v]) => Number(v) > 0),
    );
    const ports = hostPorts[i]!.map((p) => ({ begin: p, end: p }));
    return Resources.scalars(scalars).add(Resources.ranges("ports", ports)).toMesos(role);
  });
  const executor = Resources.scalars(
    Object.fromEntries(Object.entries(pod.executorResources).filter(([, v]) => v > 0)),
  ).toMesos(role);
  return { ok: true, containers, executor, hostPorts };
}
