import assert from "node:assert/strict";
import { Resources } from "../../protocol/mod.ts";
import { OfferBook, type OfferRecord } from "./offer_book.ts";

function offer(id: string, frameworkId: string, agentId: string, createdAt: number): OfferRecord {
  return { id, frameworkId, agentId, role: "*", resources: Resources.parse("cpus:1"), createdAt };
}

Deno.test("OfferBook.take() returns an offer once only", () => {
  const book = new OfferBook();
  book.add(offer("o1", "f1", "a1", 0));
  assert.equal(book.size, 1);
  assert.equal(book.get("o1")?.agentId, "a1");
  assert.equal(book.take("o1")?.id, "o1");
  assert.equal(book.take("o1"), undefined);
  assert.equal(book.get("o1"), undefined);
  assert.equal(book.take("nope"), undefined);
  assert.equal(book.size, 0);
  assert.deepEqual(book.forAgent("a1"), []);
  assert.deepEqual(book.forFramework("f1"), []);
});

Deno.test("OfferBook.add() throws for an outstanding id", () => {
  const book = new OfferBook();
  book.add(offer("o1", "f1", "a1", 0));
  assert.throws(() => book.add(offer("o1", "f2", "a2", 1)), /"o1"/);
  assert.equal(book.forFramework("f2").length, 0);
});

Deno.test("OfferBook indexes offers by agent and framework", () => {
  const book = new OfferBook();
  book.add(offer("o1", "f1", "a1", 0));
  book.add(offer("o2", "f1", "a2", 0));
  book.add(offer("o3", "f2", "a1", 0));
  assert.deepEqual(book.forAgent("a1").map((o) => o.id), ["o1", "o3"]);
  assert.deepEqual(book.forFramework("f1").map((o) => o.id), ["o1", "o2"]);
  book.take("o1");
  assert.deepEqual(book.forAgent("a1").map((o) => o.id), ["o3"]);
  assert.deepEqual(book.forFramework("f1").map((o) => o.id), ["o2"]);
  assert.deepEqual([...book.all()].map((o) => o.id), ["o2", "o3"]);
});

Deno.test("OfferBook.expired() lists offers created at or before now - timeout", async (t) => {
  await t.step("in creation order", () => {
    const book = new OfferBook();
    for (let i = 0; i < 10; i++) book.add(offer(`o${i}`, "f", "a", i * 100));
    assert.deepEqual(book.expired(1000, 500).map((o) => o.id), [
      "o0",
      "o1",
      "o2",
      "o3",
      "o4",
      "o5",
    ]);
    assert.deepEqual(book.expired(0, 500), []);
  });
  await t.step("out of creation order", () => {
    const book = new OfferBook();
    book.add(offer("late", "f", "a", 900));
    book.add(offer("early", "f", "a", 100));
    assert.deepEqual(book.expired(1000, 500).map((o) => o.id), ["early"]);
    assert.deepEqual(book.expired(1400, 500).map((o) => o.id), ["late", "early"]);
  });
});
