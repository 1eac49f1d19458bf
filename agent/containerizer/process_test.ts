import assert from "node:assert/strict";
import { containerizerConformance } from "./conformance.ts";
import { commandArgv, ProcessContainerizer } from "./process.ts";

containerizerConformance(
  "process",
  (workDir) => new ProcessContainerizer({ workDir, pollMs: 100 }),
  {
    recovery: true,
    dispose: (c) => {
      if (c instanceof ProcessContainerizer) c.close();
    },
  },
);

Deno.test("commandArgv() runs value under /bin/sh -c unless shell is false", () => {
  assert.deepEqual(commandArgv({ value: "echo hi" }), ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(
    commandArgv({ shell: false, value: "/bin/echo", arguments: ["echo", "a", "b"] }),
    ["/bin/echo", "a", "b"],
  );
  assert.throws(() => commandArgv({}), /no command/);
});
