import assert from "node:assert/strict";
import { Resources } from "../../protocol/mod.ts";
import { addMesos, addResources, amount } from "./books.ts";

Deno.test("addMesos() sums scalars by value and ports one by one", () => {
  const a = Resources.parse("cpus:1.5;mem:256;ports:[31000-31009,32000-32000]").toMesos();
  const b = Resources.parse("cpus:0.5;mem:128").toMesos();
  assert.deepEqual(addMesos(addMesos({}, a), b), { cpus: 2, mem: 384, ports: 11 });
});

Deno.test("addResources() and amount() agree with addMesos()", () => {
  const r = Resources.parse("cpus:2;disk:10;ports:[1-3]");
  assert.deepEqual(addResources({}, r), addMesos({}, r.toMesos()));
  assert.equal(amount(r, "ports"), 3);
  assert.equal(amount(r, "gpus"), 0);
});
