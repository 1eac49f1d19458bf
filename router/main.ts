/** `deno task router --master URL [--host 127.0.0.1] [--http-port 8081] [--poll-ms 1000]` */
import { parseArgs } from "node:util";
import { startRouter } from "./mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    master: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    "http-port": { type: "string", default: "8081" },
    "poll-ms": { type: "string", default: "1000" },
  },
});
const httpPort = Number(values["http-port"]);
const pollMs = Number(values["poll-ms"]);
if (!values.master || !Number.isInteger(httpPort) || !Number.isFinite(pollMs)) {
  console.error("usage: deno task router --master URL [--host H] [--http-port P] [--poll-ms MS]");
  Deno.exit(2);
}
const router = await startRouter({
  master: values.master,
  hostname: values.host,
  httpPort,
  pollMs,
});
console.log(
  `router: following ${values.master}; vhosts on http://${router.hostname}:${router.httpPort}, ` +
    `state at /_router/state`,
);
const shutdown = async () => {
  await router.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
