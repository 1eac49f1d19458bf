import assert from "node:assert/strict";
import { formatFigures, runFuzz } from "./suite.ts";

// A fixed seed, so a failure here is replayed exactly: `deno task fuzz --seed 20261203`.
Deno.test("fuzz: hostile input to every API gets no 5xx, no crash, no state change when refused, no stray file", async () => {
  const { figures, strayFiles } = await runFuzz({ runs: 500, seed: 20261203 });
  console.log(formatFigures(figures));
  assert.deepEqual(strayFiles, []);
  for (const f of figures) {
    assert.equal(f.failures + f.crashes + f.stateChanges, 0, f.api);
    assert.deepEqual(f.violations, [], f.api);
  }
});
