/**
 * Normalisation: legacy fields translated to the canonical 1.10 form and the defaults that
 * depend on other fields filled in (networks, port definitions/mappings, resident strategies).
 * `normalizeApp(AppInputSchema.parse(normalizeApp(x)))` equals `normalizeApp(x)`, so a stored
 * canonical app re-parses through the same schema.
 */
import type {
  AppInput,
  Container,
  Fetch,
  Network,
  PortDefinition,
  PortMapping,
  UnreachableStrategy,
  UpgradeStrategy,
} from "./schema.ts";
import { resolvePathId } from "./path_id.ts";
import type { RunSpec } from "../deployment/run_spec.ts";

/** A canonical container: port mappings in one place, no legacy docker fields. */
export type AppContainer = Omit<Container, "portMappings" | "docker"> & {
  portMappings: PortMapping[];
  docker?: Omit<NonNullable<Container["docker"]>, "network" | "portMappings">;
};

/** A canonical Marathon app definition, as stored and as answered. */
export type App =
  & Omit<
    AppInput,
    | "ports"
    | "uris"
    | "ipAddress"
    | "container"
    | "networks"
    | "portDefinitions"
    | "upgradeStrategy"
    | "unreachableStrategy"
  >
  & {
    container?: AppContainer;
    networks: Network[];
    portDefinitions: PortDefinition[];
    upgradeStrategy: UpgradeStrategy;
    unreachableStrategy: UnreachableStrategy;
  };

const EXTRACT_SUFFIXES = [".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"];

/** Canonicalises a parsed app; `base` is the group that relative ids resolve against. */
export function normalizeApp(input: AppInput, base = "/"): App {
  const {
    ports,
    uris,
    ipAddress,
    container: rawContainer,
    networks: rawNetworks,
    portDefinitions: rawPortDefs,
    upgradeStrategy: rawUpgrade,
    unreachableStrategy: rawUnreachable,
    ...rest
  } = input;
  const id = resolvePathId(input.id, base);
  const networks = normalizeNetworks(rawNetworks, rawContainer, ipAddress?.networkName);
  const hostMode = networks.every((n) => n.mode === "host");
  const bridge = networks.some((n) => n.mode === "container/bridge");

  let container: AppContainer | undefined;
  if (rawContainer) {
    const { docker, portMappings, ...c } = rawContainer;
    const mappings = portMappings ?? docker?.portMappings;
    let dockerOut: AppContainer["docker"];
    if (docker) {
      const { network: _n, portMappings: _p, ...d } = docker;
      dockerOut = d;
    }
    container = {
      ...c,
      ...(dockerOut ? { docker: dockerOut } : {}),
      portMappings: hostMode ? [] : normalizeMappings(mappings, bridge),
    };
  } else if (!hostMode) {
    container = { type: "MESOS", volumes: [], portMappings: normalizeMappings(undefined, bridge) };
  }

  const legacyPorts = ports?.map((port): PortDefinition => ({ port, protocol: "tcp", labels: {} }));
  const declared = rawPortDefs ?? legacyPorts;
  const portDefinitions = !hostMode || ipAddress
    ? []
    : declared ?? [{ port: 0, name: "default", protocol: "tcp", labels: {} }];

  const resident = (container?.volumes ?? []).some((v) => v.persistent !== undefined);
  const upgradeStrategy = rawUpgrade ??
    (resident
      ? { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 }
      : { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
  const unreachableStrategy = rawUnreachable ??
    (resident ? "disabled" : { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 });

  const fetch: Fetch[] = rest.fetch.length > 0 ? rest.fetch : (uris ?? []).map(uriToFetch);
  const hasPorts = portDefinitions.length > 0 || (container?.portMappings.length ?? 0) > 0;
  const healthChecks = rest.healthChecks.map((hc) =>
    hc.port === undefined && hc.portIndex === undefined && hc.protocol !== "COMMAND" && hasPorts
      ? { ...hc, portIndex: 0 }
      : hc
  );
  const dependencies = rest.dependencies.map((d) => resolvePathId(d, parentOf(id)));

  return {
    ...rest,
    id,
    dependencies,
    fetch,
    healthChecks,
    requirePorts: hostMode ? rest.requirePorts : false,
    ...(container ? { container } : {}),
    networks,
    portDefinitions,
    upgradeStrategy,
    unreachableStrategy,
    ...(resident && !rest.residency
      ? { residency: { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: "WAIT_FOREVER" } }
      : {}),
  };
}

function parentOf(id: string): string {
  return resolvePathId("..", id);
}

function normalizeNetworks(
  networks: Network[] | undefined,
  container: Container | undefined,
  ipNetworkName: string | undefined,
): Network[] {
  if (networks && networks.length > 0) return networks;
  const legacy = container?.docker?.network;
  if (legacy === "BRIDGE") return [{ mode: "container/bridge", labels: {} }];
  if (legacy === "USER" || (legacy === undefined && ipNetworkName !== undefined)) {
    return [{ mode: "container", ...(ipNetworkName ? { name: ipNetworkName } : {}), labels: {} }];
  }
  return [{ mode: "host", labels: {} }];
}

function normalizeMappings(mappings: PortMapping[] | undefined, bridge: boolean): PortMapping[] {
  const list = mappings ??
    [{ containerPort: 0, servicePort: 0, protocol: "tcp", name: "default", labels: {} }];
  return list.map((m) => (bridge && m.hostPort === undefined ? { ...m, hostPort: 0 } : m));
}

function uriToFetch(uri: string): Fetch {
  const extract = EXTRACT_SUFFIXES.some((s) => uri.endsWith(s));
  return { uri, extract, executable: false, cache: false };
}

/** Whether the app runs on the agent's network (no bridge, no container network). */
export function isHostNetworking(app: App): boolean {
  return app.networks.every((n) => n.mode === "host");
}

/** Whether the app has persistent volumes (a "resident" app). */
export function isResident(app: Pick<App, "container"> | RunSpec): boolean {
  return (app.container?.volumes ?? []).some((v) => v.persistent !== undefined);
}
