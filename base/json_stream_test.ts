import assert from "node:assert/strict";
import { jsonPieces, jsonResponse, lazyArray } from "./json_stream.ts";

async function text(value: unknown): Promise<string> {
  let out = "";
  for await (const piece of jsonPieces(value)) out += piece;
  return out;
}

Deno.test("jsonPieces() writes what JSON.stringify writes, lazy arrays included", async () => {
  const tasks = [{ id: "t1", n: 1 }, { id: 't\u0000"2é😀', n: undefined }, { id: "t3" }];
  const shape = (t: { id: string; n?: number }) => ({ id: t.id, n: t.n, at: new Date(0) });
  const eager = {
    a: 1,
    skip: undefined,
    f: () => 1,
    frameworks: [{ name: "fw", tasks: tasks.map(shape), none: [] }],
    tail: [undefined, null, "x"],
  };
  const lazy = {
    ...eager,
    frameworks: lazyArray(
      [{ name: "fw" }],
      (f) => ({ ...f, tasks: lazyArray(tasks, shape), none: lazyArray([], (x) => x) }),
      { nested: true },
    ),
  };
  assert.equal(await text(lazy), JSON.stringify(eager));
  assert.equal(await text(lazyArray([1, undefined, 3], (x) => x)), "[1,null,3]");
  assert.equal(await text(lazyArray([1, 2], (x) => Promise.resolve({ x }))), '[{"x":1},{"x":2}]');
  assert.equal(
    await text({ tag: "\u0000tender-lazy-0" }),
    JSON.stringify({ tag: "\u0000tender-lazy-0" }),
  );
});

Deno.test("jsonResponse() streams 100,000 items in chunks, not as one string", async () => {
  const items = Array.from({ length: 100_000 }, (_, i) => i);
  let mapped = 0;
  const response = jsonResponse({
    items: lazyArray(items, (i) => {
      mapped++;
      return { id: `task-${i}`, state: "TASK_RUNNING" };
    }),
  });
  assert.equal(response.headers.get("content-type"), "application/json");
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.length < 200_000, "the first chunk is small");
  assert.ok(mapped < 10_000, `items are mapped as they are written (${mapped} so far)`);
  let body = new TextDecoder().decode(first.value);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    body += new TextDecoder().decode(value);
  }
  const parsed = JSON.parse(body);
  assert.equal(parsed.items.length, 100_000);
  assert.equal(parsed.items[99_999].id, "task-99999");
});
