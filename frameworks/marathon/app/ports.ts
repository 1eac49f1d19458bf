/**
 * The ports an app declares, in one list whatever the networking mode: which need a host port
 * from the offer (and which exact one), their container ports, names and service ports.
 */
import { type App, isHostNetworking } from "./normalize.ts";

/** One declared port (a portDefinition in host mode, a portMapping otherwise). */
export interface DeclaredPort {
  name?: string;
  protocol: string;
  labels: Record<string, string>;
  /** The host port asked for: 0 = any from the offer, n = exactly n, undefined = none. */
  hostPort?: number;
  /** The port the process binds inside the container (bridge/container networking only). */
  containerPort?: number;
  /** The cluster-wide load-balancer port (0 = to be assigned). */
  servicePort: number;
}

/** The app's declared ports, in declaration order. */
export function declaredPorts(app: App): DeclaredPort[] {
  if (isHostNetworking(app)) {
    return app.portDefinitions.map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      protocol: p.protocol,
      labels: p.labels,
      hostPort: app.requirePorts ? p.port : 0,
      servicePort: p.port,
    }));
  }
  return (app.container?.portMappings ?? []).map((m) => ({
    ...(m.name !== undefined ? { name: m.name } : {}),
    protocol: m.protocol,
    labels: m.labels,
    ...(m.hostPort !== undefined ? { hostPort: m.hostPort } : {}),
    containerPort: m.containerPort,
    servicePort: m.servicePort,
  }));
}

/** The host ports the app needs from an offer, one per port that has one (0 = any). */
export function hostPortRequests(app: App): number[] {
  return declaredPorts(app).flatMap((p) => (p.hostPort !== undefined ? [p.hostPort] : []));
}
