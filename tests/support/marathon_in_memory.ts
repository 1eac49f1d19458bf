/**
 * Marathon's v2 API in memory over a state store, as the fuzz suite, the benchmarks and the
 * large-state test build it:
 * a store, an event bus on a fake clock, the service (sequential ids) and the API, without a
 * scheduler or a master. (frameworks/marathon/api/testing.ts `withApi` is the same inside
 * Marathon's own tests.)
 */
import type { Hono } from "hono";
import { marathonApi } from "../../frameworks/marathon/api/api.ts";
import { EventBus } from "../../frameworks/marathon/events/event_bus.ts";
import { MarathonService } from "../../frameworks/marathon/service/marathon_service.ts";
import { MarathonStore } from "../../frameworks/marathon/store/store.ts";
import { FakeClock, SequentialIds } from "../../base/mod.ts";
import type { ServerSecurity } from "../../security/mod.ts";
import type { StateStore } from "../../store/mod.ts";

/** A Marathon API served in memory. */
export interface InMemoryMarathon {
  api: Hono;
  store: MarathonStore;
  clock: FakeClock;
  /** Sends `init` to `path` (`/v2/apps?…`) through the API. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Ends the event streams (the caller closes its store). */
  close(): void;
}

/** Builds Marathon's API over `backend` (the clock starts at 2026-01-01). */
export function inMemoryMarathon(
  backend: StateStore,
  options: { security?: ServerSecurity } = {},
): InMemoryMarathon {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const events = new EventBus(clock);
  const store = new MarathonStore(backend);
  const service = new MarathonService({ store, clock, ids: new SequentialIds(), events });
  const api = marathonApi({
    service,
    events,
    clock,
    info: {
      leader: "127.0.0.1:8080",
      master: "http://m:5050",
      frameworkId: () => "fw",
      httpPort: 1,
    },
    ...(options.security ? { security: options.security } : {}),
  });
  return {
    api,
    store,
    clock,
    request: async (path, init) => await api.request(`http://localhost${path}`, init),
    close: () => events.close(),
  };
}
