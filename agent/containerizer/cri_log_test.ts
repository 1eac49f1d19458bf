import assert from "node:assert/strict";
import { criLogDecoder, decodeCriLog, streamCriLog, tailCriLog } from "./cri_log.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const LOG = [
  "2024-01-01T00:00:00.000000001Z stdout F one",
  "2024-01-01T00:00:00.000000002Z stderr F oops",
  "2024-01-01T00:00:00.000000003Z stdout P par",
  "2024-01-01T00:00:00.000000004Z stdout F tial",
  "2024-01-01T00:00:00.000000005Z stdout F ",
  "",
].join("\n");

Deno.test("decodeCriLog() keeps one stream and joins partial records", () => {
  assert.equal(dec(decodeCriLog(enc(LOG), "stdout")), "one\npartial\n\n");
  assert.equal(dec(decodeCriLog(enc(LOG), "stderr")), "oops\n");
  assert.equal(dec(tailCriLog(enc(LOG), "stdout", 2)), "partial\n\n");
});

Deno.test("criLogDecoder() waits for a record cut by a chunk boundary", async () => {
  const bytes = enc(LOG);
  const chunks = [bytes.slice(0, 20), bytes.slice(20, 70), bytes.slice(70)];
  const stream = ReadableStream.from(chunks).pipeThrough(criLogDecoder("stdout"));
  assert.equal(await new Response(stream).text(), "one\npartial\n\n");
});

Deno.test("streamCriLog() follows what is appended until the writer has ended", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/container.log`;
    await Deno.writeTextFile(path, LOG);
    let ended = false;
    const stream = streamCriLog(path, {
      stream: "stdout",
      tail: 1,
      follow: true,
      ended: () => ended,
    });
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "\n");
    await Deno.writeTextFile(path, "2024-01-01T00:00:01Z stdout F more\n", { append: true });
    let text = "";
    while (!text.includes("more")) text += (await reader.read()).value ?? "";
    assert.equal(text, "more\n");
    ended = true;
    assert.equal((await reader.read()).done, true);
    assert.equal(await new Response(streamCriLog(`${dir}/none`, { stream: "stdout" })).text(), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
