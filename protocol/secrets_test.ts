import assert from "node:assert/strict";
import { base64Of, hasSecretValues, redactSecrets, secretBytes, type TaskInfo } from "./mod.ts";

const DATA = base64Of(new TextEncoder().encode("s3cret-value"));

function taskWithSecrets(): TaskInfo {
  const secret = { type: "VALUE" as const, value: { data: DATA } };
  return {
    name: "t",
    task_id: { value: "t" },
    agent_id: { value: "a" },
    resources: [],
    command: {
      value: "true",
      environment: {
        variables: [
          { name: "PLAIN", type: "VALUE", value: "shown" },
          { name: "DB", type: "SECRET", secret },
        ],
      },
    },
    container: {
      type: "MESOS",
      volumes: [{ container_path: "pw", mode: "RO", source: { type: "SECRET", secret } }],
      mesos: { image: { type: "DOCKER", docker: { name: "reg:5000/app:1", config: secret } } },
    },
    executor: {
      executor_id: { value: "e" },
      command: { environment: { variables: [{ name: "E", type: "SECRET", secret }] } },
    },
  };
}

Deno.test("redactSecrets() drops every secret's bytes and keeps the rest of the task", () => {
  const task = taskWithSecrets();
  const redacted = redactSecrets(task);
  const text = JSON.stringify(redacted);
  assert.ok(!text.includes(DATA), text);
  assert.equal(redacted.command?.environment?.variables[0]?.value, "shown");
  assert.deepEqual(redacted.command?.environment?.variables[1], {
    name: "DB",
    type: "SECRET",
    secret: { type: "VALUE" },
  });
  assert.equal(redacted.container?.volumes?.[0]?.container_path, "pw");
  // The image's Docker config (registry credentials) goes too; the image stays.
  assert.deepEqual(redacted.container?.mesos?.image?.docker, {
    name: "reg:5000/app:1",
    config: { type: "VALUE" },
  });
  assert.ok(JSON.stringify(task).includes(DATA), "the task itself is left as it was");
  assert.ok(hasSecretValues(task));
  assert.ok(!hasSecretValues(redacted));
});

Deno.test("redactSecrets() drops the password of an image's deprecated credential", () => {
  const task = taskWithSecrets();
  task.container = {
    type: "MESOS",
    mesos: {
      image: {
        type: "DOCKER",
        docker: { name: "a/b", credential: { principal: "u", secret: "pw" } },
      },
    },
  };
  assert.deepEqual(redactSecrets(task).container?.mesos?.image?.docker, {
    name: "a/b",
    credential: { principal: "u" },
  });
  assert.ok(hasSecretValues(task));
});

Deno.test("secretBytes() decodes a VALUE secret and refuses a REFERENCE, naming it", () => {
  const ok = secretBytes({ type: "VALUE", value: { data: DATA } }, "var DB");
  assert.ok(ok.ok);
  assert.equal(new TextDecoder().decode(ok.bytes), "s3cret-value");
  const ref = secretBytes({ type: "REFERENCE", reference: { name: "/prod/db" } }, "var DB");
  assert.ok(!ref.ok);
  assert.match(ref.reason, /var DB: secret "\/prod\/db" is a REFERENCE/);
});
