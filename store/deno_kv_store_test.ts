import { stateStoreConformance } from "./conformance.ts";
import { DenoKvStore } from "./deno_kv_store.ts";

Deno.test("DenoKvStore passes the StateStore conformance suite", async (t) => {
  await stateStoreConformance(t, () => DenoKvStore.open(":memory:"));
});
