/**
 * An election candidate in its own process, for tests that pause a leader with SIGSTOP, which
 * only a separate process can honestly be. It campaigns, prints `{"event":"leading","fence":…}`,
 * then writes with its fence every 50 ms (`{"event":"wrote","succeeded":…}`); once it finds its
 * leadership lost it prints `{"event":"lost","reason":…,"succeeded":…}` for one last fenced
 * write, and exits.
 *
 * deno run -A tests/support/etcd_candidate.ts <endpoint,endpoint,…> <prefix> <value>
 */
import { EtcdClient } from "../../store/etcd/client.ts";
import { Election } from "../../store/etcd/election.ts";
import { opPut, text } from "../../store/etcd/wire.ts";

const [endpoints = "", prefix = "", value = ""] = Deno.args;
const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

const client = await EtcdClient.connect(endpoints.split(","));
const leadership = await new Election(client, { prefix }).campaign(value);
const fence = leadership.fence;
print({
  event: "leading",
  fence: {
    key: text(fence.key),
    createRevision: "createRevision" in fence && fence.createRevision,
  },
});
for (;;) {
  // As a leader acts: it asks whether it still leads, then writes under its fence regardless.
  const held = !leadership.signal.aborted;
  const write = { compare: [fence], success: [opPut(`${prefix}/writes`, value)] };
  const { succeeded } = await client.txn(write).catch(() => ({ succeeded: false }));
  if (!held) {
    print({ event: "lost", reason: String(leadership.signal.reason), succeeded });
    break;
  }
  print({ event: "wrote", succeeded });
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await leadership.resign();
client.close();
