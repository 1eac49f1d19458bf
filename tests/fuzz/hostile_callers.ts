/**
 * The hostile callers of the fuzz suite's targets served with security on, and what they face:
 * one credentials file (owner, agent, mallory), ACLs that allow the owner (and the agent)
 * everything and mallory nothing, the secrets no answer or log line may hold, the names mallory's
 * view ACLs hide, and `withIdentity`, which gives each generated request a hostile caller.
 */
import fc from "fast-check";
import { basicHeader, parseAcls, parseCredentials, ServerSecurity } from "../../security/mod.ts";
import type { FuzzRequest, Identity } from "./inputs.ts";
import type { Outcome, SecureExpectations } from "./targets.ts";

// Distinct, greppable secrets: none may come back in an answer or a log line.
export const SECRETS = {
  owner: "s3cret-owner-4f9b1c",
  agent: "s3cret-agent-77d2e0",
  mallory: "s3cret-mallory-a81c3f",
  wrong: "s3cret-wrong-5e2d90",
};
export const CREDENTIALS = parseCredentials(JSON.stringify({
  credentials: [
    { principal: "owner", secret: SECRETS.owner },
    { principal: "agent", secret: SECRETS.agent },
    { principal: "mallory", secret: SECRETS.mallory },
  ],
}));
export const OWNER = basicHeader("owner", SECRETS.owner);
export const AGENT = basicHeader("agent", SECRETS.agent);
export const MALLORY = basicHeader("mallory", SECRETS.mallory);
export const WRONG = basicHeader("owner", SECRETS.wrong);
/** The secrets, and the `Authorization` values that carry them (base64 hides nothing). */
export const FORBIDDEN = [
  ...Object.values(SECRETS),
  ...[OWNER, AGENT, MALLORY, WRONG].map((h) => h.slice("Basic ".length)),
];

/** What mallory's view ACLs hide: the names the owner's state carries. */
export const PRIVATE = {
  user: "private-user-x7",
  framework: "private-framework-x7",
  app: "private-x7",
  job: "private-job-x7",
};

/** Every action the suite's servers check, allowed to owner (and agent), mallory to none. */
export const ACLS = {
  permissive: false,
  register_frameworks: [{ principals: { values: ["owner"] }, roles: { type: "ANY" } }],
  run_tasks: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  register_agents: [{ principals: { values: ["agent"] }, agents: { type: "ANY" } }],
  view_frameworks: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  view_tasks: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  access_sandboxes: [{ principals: { values: ["owner"] }, users: { type: "ANY" } }],
  teardown_frameworks: [{
    principals: { values: ["owner"] },
    framework_principals: { type: "ANY" },
  }],
  drain_agents: [{ principals: { values: ["owner"] }, agents: { type: "ANY" } }],
  reactivate_agents: [{ principals: { values: ["owner"] }, agents: { type: "ANY" } }],
  view_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  create_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  update_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  delete_apps: [{ principals: { values: ["owner"] }, paths: { values: ["/"] } }],
  pull_images: [{ principals: { values: ["owner"] }, repositories: { type: "ANY" } }],
  push_images: [{ principals: { values: ["owner"] }, repositories: { type: "ANY" } }],
  view_jobs: [{ principals: { values: ["owner"] }, jobs: { type: "ANY" } }],
  create_jobs: [{ principals: { values: ["owner"] }, jobs: { type: "ANY" } }],
  update_jobs: [{ principals: { values: ["owner"] }, jobs: { type: "ANY" } }],
  delete_jobs: [{ principals: { values: ["owner"] }, jobs: { type: "ANY" } }],
};

/**
 * What a server's hostile callers must not get: the suite's secrets, nor (as mallory) `hidden`;
 * only the `open` paths (query aside) answer them a 2xx.
 */
export function expectations(hidden: string[], open: string[]): SecureExpectations {
  const paths = new Set(open);
  return { secrets: FORBIDDEN, hidden, open: (req) => paths.has(req.path.split("?")[0]!) };
}

/** A server's security: the suite's credentials and ACLs. */
export function security(): ServerSecurity {
  return new ServerSecurity({ credentials: CREDENTIALS, acls: parseAcls(JSON.stringify(ACLS)) });
}

/** Printable ASCII (what a header value may hold), for malformed `Authorization` values. */
const headerText = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);

const malformed: fc.Arbitrary<string> = fc.oneof(
  headerText,
  headerText.map((t) => `Basic ${t}`),
  headerText.map((t) => `Bearer ${t}`),
  headerText.map((t) => `Basic ${btoa(t)}`),
  fc.constantFrom(
    "Basic",
    "Basic ",
    `Basic ${btoa("owner")}`,
    `Basic ${btoa(":")}`,
    `Basic ${btoa("owner:")}`,
    `Basic ${btoa(`:${SECRETS.owner}`)}`,
    `basic ${btoa(`mallory:${SECRETS.owner}`)}`,
    `Basic ${btoa(`owner:${"x".repeat(4000)}`)}`,
    `Bearer ${"a".repeat(3000)}`,
    "Digest username=owner",
    `Basic ${OWNER.slice(6)}, Basic ${MALLORY.slice(6)}`,
  ),
);

/** Gives each request a hostile caller: its `Authorization`, its kind and its address. */
export function withIdentity(requests: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(
    requests,
    fc.constantFrom<Identity>("anonymous", "wrong secret", "malformed", "denied"),
    malformed,
    fc.integer({ min: 1, max: 254 }),
  ).map(([req, as, garbage, host]) => {
    const authorization = as === "anonymous"
      ? undefined
      : as === "wrong secret"
      ? WRONG
      : as === "malformed"
      ? garbage
      : MALLORY;
    const headers = { ...req.headers };
    delete headers["Authorization"];
    if (authorization !== undefined) headers["Authorization"] = authorization;
    return { ...req, headers, as, from: `10.0.0.${host}` };
  });
}

/** The connection info a request `from` an address comes with (in memory). */
export const conn = (req: FuzzRequest) => ({
  remoteAddr: { hostname: req.from ?? "127.0.0.1", port: 40000, transport: "tcp" },
});

/** The answer's status and body; a stream (SSE, RecordIO) is cancelled unread. */
export async function outcomeOf(res: Response): Promise<Outcome> {
  const type = res.headers.get("Content-Type") ?? "";
  if (res.headers.has("Mesos-Stream-Id") || type.startsWith("text/event-stream")) {
    await res.body?.cancel().catch(() => {});
    return { status: res.status };
  }
  // The operator SUBSCRIBE stream is JSON too, and never ends: read a bounded part of any body.
  return { status: res.status, body: await readSome(res, 4 << 20) };
}

/** Reads a body up to `limit` bytes (a stream that does not end is cut there, or after 2 s). */
async function readSome(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 2000);
  try {
    while (size < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // cancelled: what was read is the answer
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c.subarray(0, Math.min(c.length, size - at)), at);
    at += c.length;
    if (at >= size) break;
  }
  return new TextDecoder().decode(all);
}
