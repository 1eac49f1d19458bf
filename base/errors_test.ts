import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  codeOfStatus,
  type ErrorCode,
  HTTP_STATUS,
  httpErrorHandler,
  httpFailure,
  plainText,
  TenderError,
} from "./errors.ts";

Deno.test("codeOfStatus() reads HTTP_STATUS backwards for every code", () => {
  for (const [code, status] of Object.entries(HTTP_STATUS)) {
    assert.equal(codeOfStatus(status), code);
  }
  assert.equal(codeOfStatus(418), "bad_request");
  assert.equal(codeOfStatus(502), "internal");
});

Deno.test("httpFailure() maps a TenderError by its code, a URIError as a 400, anything else as a 500", () => {
  const codes: ErrorCode[] = ["not_found", "conflict", "payload_too_large", "unavailable"];
  for (const code of codes) {
    const failure = httpFailure(new TenderError(code, `it is ${code}`, { id: "x" }));
    assert.deepEqual(
      [failure.status, failure.code, failure.message, failure.details],
      [HTTP_STATUS[code], code, `it is ${code}`, { id: "x" }],
    );
  }
  const uri = httpFailure(new URIError("URI malformed"));
  assert.equal(uri.status, 400);
  assert.match(uri.message, /Malformed URI/);
  const boom = httpFailure(new Error("boom"));
  assert.deepEqual([boom.status, boom.code, boom.message, boom.error], [
    500,
    "internal",
    "Internal error: boom",
    undefined,
  ]);
});

Deno.test("httpErrorHandler() renders every failure with the API's renderer and logs only unexpected ones", async () => {
  const logged: string[] = [];
  const app = new Hono();
  app.onError(httpErrorHandler("test", plainText, (line) => logged.push(line)));
  app.get("/gone", () => {
    throw new TenderError("not_found", 'Task "t" is unknown');
  });
  app.get("/boom", () => {
    throw new Error("boom");
  });
  const gone = await app.request("/gone");
  assert.deepEqual([gone.status, await gone.text()], [404, 'Task "t" is unknown']);
  assert.equal(logged.length, 0);
  const boom = await app.request("/boom");
  assert.deepEqual([boom.status, await boom.text()], [500, "Internal error: boom"]);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /"msg":"test: unhandled"/);
});
