import assert from "node:assert/strict";
import { formatFigures, runFuzz } from "./suite.ts";

// A fixed seed, so a failure here is replayed exactly: `deno task fuzz --seed 20261203`.
// Then the APIs with security on (master, Marathon, registry, jobs and router admin over TLS),
// from hostile callers only (anonymous, a wrong secret, a malformed Authorization, a principal
// every ACL refuses), and the master's DNS beside them, 200 inputs each.
Deno.test("fuzz: hostile input to every API gets no 5xx, no crash, no state change when refused, no stray file; with security on, no 2xx, change or secret for hostile callers", async () => {
  const { figures, strayFiles } = await runFuzz({ runs: 500, secureRuns: 200, seed: 20261203 });
  console.log(formatFigures(figures));
  assert.deepEqual(strayFiles, []);
  for (const f of figures) {
    assert.equal(f.failures + f.crashes + f.stateChanges + f.breaches, 0, f.api);
    assert.deepEqual(f.violations, [], f.api);
  }
});
