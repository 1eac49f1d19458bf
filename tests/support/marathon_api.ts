/** A JSON call to Marathon's REST API, for tests: status and parsed body, never hanging. */

// deno-lint-ignore no-explicit-any -- Marathon's JSON is read loosely by the tests
export type Json = any;

/** Sends `body` as JSON (when given) and answers the status and the parsed reply. */
export async function call(
  url: string,
  method = "GET",
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const r = await fetch(url, {
    method,
    signal: AbortSignal.timeout(15_000),
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}
