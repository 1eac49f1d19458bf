import assert from "node:assert/strict";
import fc from "fast-check";
import { parseCredentials } from "./mod.ts";

Deno.test("parseCredentials() errors never quote the file: a secret in a malformed file stays out of them", () => {
  const broken = [
    (s: string) => `{"credentials":[{"principal":"a","secret":${s}}]}`,
    (s: string) => `{"credentials":[{"principal":"a","secret":"${s}" "x":1}]}`,
    (s: string) => `{"credentials":[{"principal":"a","secret":"${s}"}],}`,
    (s: string) => `{"credentials":[{"principal":"a","secret":"${s}"`,
    (s: string) => `${s}`,
    (s: string) => `{"tokens":[{"principal":"a","token_sha256":"${s}"}]}`,
    (s: string) => `{"credentials":[{"principal":"a","secret":"${s}","extra":1}]}`,
  ];
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{11,40}$/),
      fc.integer({ min: 0, max: broken.length - 1 }),
      (secret, which) => {
        const text = broken[which]!(secret);
        try {
          parseCredentials(text, "creds.json");
        } catch (e) {
          const message = (e as Error).message;
          assert.ok(!message.includes(secret.slice(0, 8)), message);
          assert.match(message, /^creds\.json: /);
          return;
        }
        assert.fail(`accepted: ${text}`);
      },
    ),
    { seed: 15, numRuns: 500 },
  );
});
