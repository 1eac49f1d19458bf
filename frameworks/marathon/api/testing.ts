/** The in-memory harness of the API tests: a real KV in a temp dir, FakeClock, the hono app. */
import { FakeClock, SequentialIds } from "../../../base/mod.ts";
import { EventBus } from "../events/event_bus.ts";
import { MarathonService } from "../service/marathon_service.ts";
import { MarathonStore } from "../store/store.ts";
import { DenoKvStore } from "../../../store/mod.ts";
import { marathonApi, type MarathonApiDeps } from "./api.ts";
import { SecretStore } from "../secrets/secret_store.ts";

/** What a test gets: a request function over the app, and the parts behind it. */
export interface Harness {
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** The app itself, e.g. to serve it on a socket. */
  fetch: (req: Request) => Response | Promise<Response>;
  store: MarathonStore;
  service: MarathonService;
  clock: FakeClock;
  events: EventBus;
}

/** Runs `fn` against a fresh API and store, cleaning up after. */
export async function withApi(
  fn: (h: Harness) => Promise<void>,
  more: Pick<MarathonApiDeps, "security" | "realm" | "frameworkLoss" | "metrics"> & {
    /** Keep secrets under this key (`/v2/secrets`, apps' `secrets`). */
    secretsKey?: CryptoKey;
    /** The role Marathon registers with (`--mesos-role`; default `*`). */
    role?: string;
  } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "marathon-api-" });
  const kv = await DenoKvStore.open(`${dir}/kv.sqlite3`);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const events = new EventBus(clock);
  const store = new MarathonStore(kv);
  const { secretsKey, role, ...deps } = more;
  const secrets = secretsKey ? new SecretStore(kv, secretsKey, clock) : undefined;
  const service = new MarathonService({
    store,
    clock,
    ids: new SequentialIds(),
    events,
    ...(secrets ? { secrets } : {}),
    ...(role ? { role } : {}),
  });
  const api = marathonApi({
    service,
    events,
    clock,
    info: {
      leader: "127.0.0.1:18080",
      master: "http://m:5050",
      frameworkId: () => "fw-1",
      httpPort: 18080,
    },
    ...deps,
    ...(secrets ? { secrets } : {}),
  });
  const request = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    return Promise.resolve(api.request(`http://localhost${path}`, {
      ...rest,
      ...(json !== undefined
        ? {
          body: JSON.stringify(json),
          headers: { "content-type": "application/json", ...rest.headers },
        }
        : {}),
    }));
  };
  try {
    await fn({ request, fetch: (req) => api.fetch(req), store, service, clock, events });
  } finally {
    events.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A POST with a JSON body. */
export const post = (json: unknown) => ({ method: "POST", json });
