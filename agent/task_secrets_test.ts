import assert from "node:assert/strict";
import { base64Of, type TaskInfo } from "../protocol/mod.ts";
import { taskSecrets } from "./task_secrets.ts";

const withImage = (docker: NonNullable<TaskInfo["container"]>["mesos"]): TaskInfo => ({
  name: "t",
  task_id: { value: "t1" },
  agent_id: { value: "a" },
  resources: [],
  command: { value: "true" },
  container: { type: "MESOS", ...(docker ? { mesos: docker } : {}) },
});

Deno.test("taskSecrets() takes a VALUE Docker config, refuses a REFERENCE one and a credential", () => {
  const data = base64Of(new TextEncoder().encode('{"auths": {}}'));
  const value = taskSecrets(
    withImage({
      image: {
        type: "DOCKER",
        docker: { name: "a/b", config: { type: "VALUE", value: { data } } },
      },
    }),
    "/tmp/s",
  );
  assert.ok(value.ok);
  const reference = taskSecrets(
    withImage({
      image: {
        type: "DOCKER",
        docker: { name: "a/b", config: { type: "REFERENCE", reference: { name: "/cfg" } } },
      },
    }),
    "/tmp/s",
  );
  assert.ok(!reference.ok);
  assert.match(reference.reason, /Docker config of its image: secret "\/cfg" is a REFERENCE/);
  const credential = taskSecrets(
    withImage({
      image: {
        type: "DOCKER",
        docker: { name: "a/b", credential: { principal: "u", secret: "pw" } },
      },
    }),
    "/tmp/s",
  );
  assert.ok(!credential.ok);
  assert.match(credential.reason, /Image\.Docker\.credential is deprecated/);
  assert.ok(!credential.reason.includes("pw"));
});
