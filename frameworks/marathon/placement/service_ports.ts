/**
 * Service ports: the cluster-wide, load-balancer-facing ports Marathon records per app port.
 * A `0` gets the lowest free port of [min, max] (10000–20000), reusing the app's previous
 * service ports first so that re-posting zeros keeps them stable across upgrades. Non-zero
 * ports chosen by the user are kept as they are.
 */
import { TenderError } from "../../../base/mod.ts";
import { type App, isHostNetworking } from "../app/normalize.ts";

/** Options for `ServicePortAllocator`. */
export interface ServicePortRange {
  min: number;
  max: number;
}

/** Assigns service ports to apps. Pure: the ports in use are passed in. */
export class ServicePortAllocator {
  readonly #min: number;
  readonly #max: number;

  constructor(range: ServicePortRange = { min: 10000, max: 20000 }) {
    this.#min = range.min;
    this.#max = range.max;
  }

  /** The service ports an app holds, in declaration order (0 = unassigned). */
  static portsOf(app: App): number[] {
    if (isHostNetworking(app)) {
      return app.requirePorts ? [] : app.portDefinitions.map((p) => p.port);
    }
    return (app.container?.portMappings ?? []).map((m) => m.servicePort);
  }

  /**
   * The app with every `0` service port assigned. `used` holds the service ports of all other
   * apps; `previous` is the app's stored version, whose ports are reused first. Throws a 422
   * `TenderError` when the range is exhausted.
   */
  assign(app: App, options: { used: ReadonlySet<number>; previous?: App }): App {
    const current = ServicePortAllocator.portsOf(app);
    if (!current.includes(0)) return app;
    const taken = new Set<number>([...options.used, ...current.filter((p) => p !== 0)]);
    const reuse = options.previous ? ServicePortAllocator.portsOf(options.previous) : [];
    const assigned = current.map((p, i) => {
      if (p !== 0) return p;
      const prev = reuse[i];
      if (prev !== undefined && prev !== 0 && !taken.has(prev)) {
        taken.add(prev);
        return prev;
      }
      const free = this.#lowestFree(taken);
      taken.add(free);
      return free;
    });
    return withServicePorts(app, assigned);
  }

  #lowestFree(taken: ReadonlySet<number>): number {
    for (let p = this.#min; p <= this.#max; p++) if (!taken.has(p)) return p;
    throw new TenderError(
      "unprocessable",
      `All ports in the range [${this.#min}-${this.#max}) are already in use`,
    );
  }
}

function withServicePorts(app: App, ports: readonly number[]): App {
  if (isHostNetworking(app)) {
    return {
      ...app,
      portDefinitions: app.portDefinitions.map((p, i) => ({ ...p, port: ports[i] ?? p.port })),
    };
  }
  const c = app.container;
  if (!c) return app;
  return {
    ...app,
    container: {
      ...c,
      portMappings: c.portMappings.map((m, i) => ({
        ...m,
        servicePort: ports[i] ?? m.servicePort,
      })),
    },
  };
}
