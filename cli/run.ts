/** Parses the command line, picks the command, runs it, and maps failures to exit codes. */
import { parseArgs } from "node:util";
import { Api, mastersOf, normalizeUrl, type Service, SERVICES } from "./api.ts";
import type { Command, CommandContext, Flags } from "./command.ts";
import { certsCommand } from "./commands/certs.ts";
import { authCommands } from "./commands/auth.ts";
import { type ClientSecurity, clientSecurity } from "../security/mod.ts";
import { clusterCommands } from "./commands/cluster.ts";
import { logsCommand } from "./commands/logs.ts";
import { registryCommands } from "./commands/registry.ts";
import { appCommands } from "./commands/apps.ts";
import { deploymentCommands } from "./commands/deployments.ts";
import { jobCommands } from "./commands/jobs.ts";
import { secretCommands } from "./commands/secrets.ts";
import { CliError, EXIT, usageError } from "./errors.ts";
import type { Io } from "./io.ts";

/** Every command, in the order help lists them. */
export const COMMANDS: Command[] = [
  ...clusterCommands,
  ...appCommands,
  ...deploymentCommands,
  ...jobCommands,
  ...secretCommands,
  logsCommand,
  ...registryCommands,
  certsCommand,
  ...authCommands,
];

/** The flags of single commands, e.g. `certs --out`. */
const COMMAND_OPTIONS = Object.fromEntries(
  COMMANDS.flatMap((c) => Object.entries(c.options ?? {})),
);

/** A bare group word runs its `list`. */
const DEFAULTS: Record<string, string> = {
  agents: "agents list",
  frameworks: "frameworks list",
  tasks: "tasks list",
  images: "images list",
  apps: "apps list",
  deployments: "deployments list",
  jobs: "jobs list",
  secrets: "secrets ls",
};

const OPTIONS = {
  master: { type: "string" },
  registry: { type: "string" },
  marathon: { type: "string" },
  jobs: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  follow: { type: "boolean", short: "f" },
  stderr: { type: "boolean" },
  tail: { type: "string" },
  framework: { type: "string" },
  agent: { type: "string" },
  state: { type: "string" },
  all: { type: "boolean", short: "a" },
  "dry-run": { type: "boolean" },
  force: { type: "boolean" },
  wait: { type: "boolean", short: "w" },
  timeout: { type: "string" },
  app: { type: "string" },
  principal: { type: "string" },
  "secret-file": { type: "string" },
  "token-file": { type: "string" },
  ca: { type: "string" },
} as const;

/** The help text. */
export function help(): string {
  const width = 26;
  const line = (c: Command) =>
    c.usage.length <= width
      ? [`  ${c.usage.padEnd(width)}  ${c.summary}`]
      : [`  ${c.usage}`, `  ${"".padEnd(width)}  ${c.summary}`];
  return [
    "tender: operate a Tender cluster",
    "",
    "Usage: tender COMMAND [ARGS] [--json] [--master URL[,URL...]] [--registry URL]",
    "",
    "Commands:",
    ...COMMANDS.flatMap(line),
    "",
    "Options:",
    `  --master URL    the master, or a comma-separated list of masters to find the leader`,
    `                  among (env TENDER_MASTER, default ${SERVICES.master.fallback})`,
    `  --registry URL  the registry (env TENDER_REGISTRY, default ${SERVICES.registry.fallback})`,
    `  --marathon URL  the Marathon API (env TENDER_MARATHON, default ${SERVICES.marathon.fallback})`,
    `  --jobs URL      the jobs framework's API (env TENDER_JOBS, default ${SERVICES.jobs.fallback})`,
    "  --principal NAME      authenticate as NAME (env TENDER_PRINCIPAL), with",
    "  --secret-file FILE    its secret (env TENDER_SECRET), or",
    "  --token-file FILE     a bearer token (env TENDER_TOKEN; `tender auth token`)",
    "  --ca FILE       trust the CA certificates in FILE for https (env TENDER_CA)",
    "  --json          machine-readable output",
    "  -h, --help      this help",
    "",
    "Exit codes: 0 ok, 1 the operation failed, 2 the command line is wrong.",
    "",
  ].join("\n");
}

function parseTail(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw usageError(`--tail wants a positive number of lines, not "${text}"`);
  }
  return n;
}

function parseSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw usageError(`--timeout wants a duration like 90s or 5m, not "${text}"`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

/** Finds the command named by the leading positionals; returns it and the rest. */
function pick(positionals: string[]): { command: Command; args: string[] } {
  const [first, second, ...rest] = positionals;
  if (first === undefined) throw usageError("no command given: `tender --help` lists them");
  const two = COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (two) return { command: two, args: rest };
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { command: one, args: positionals.slice(1) };
  const fallback = DEFAULTS[first];
  if (fallback && second === undefined) {
    return { command: COMMANDS.find((c) => c.name === fallback)!, args: [] };
  }
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name);
  if (group.length > 0) {
    throw usageError(
      `${
        second === undefined
          ? `"${first}" needs a subcommand`
          : `unknown command "${first} ${second}"`
      }: try ${group.map((g) => `\`tender ${g}\``).join(", ")}`,
    );
  }
  throw usageError(`unknown command "${first}": \`tender --help\` lists the commands`);
}

/** `fetch` adding the client's `Authorization` (unless the request has one) and CA trust. */
function withCredentials(fetch: Io["fetch"], client: ClientSecurity): Io["fetch"] {
  const auth = client.headers();
  if (Object.keys(auth).length === 0 && !client.httpClient) return fetch;
  return (input, init) => {
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    for (const [k, v] of Object.entries(auth)) if (!headers.has(k)) headers.set(k, v);
    return fetch(input, {
      ...init,
      headers,
      ...(client.httpClient ? { client: client.httpClient } : {}),
    });
  };
}

/** Runs the CLI over `argv`; resolves to the exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...COMMAND_OPTIONS, ...OPTIONS },
        strict: true,
        allowPositionals: true,
      });
    } catch (e) {
      throw usageError(
        `${e instanceof Error ? e.message : String(e)}. \`tender --help\` lists the options`,
      );
    }
    const { values, positionals } = parsed;
    if (values.help || positionals.length === 0 || positionals[0] === "help") {
      io.out(help());
      return positionals.length === 0 && !values.help ? EXIT.usage : EXIT.ok;
    }
    const { command, args } = pick(positionals);
    const options: Record<string, string | boolean | undefined> = {};
    for (const name of Object.keys(COMMAND_OPTIONS)) {
      const value = (values as Record<string, string | boolean | undefined>)[name];
      if (value === undefined) continue;
      if (!command.options?.[name]) {
        throw usageError(`--${name} is not an option of \`tender ${command.name}\``);
      }
      options[name] = value;
    }
    const flags: Flags = {
      json: values.json ?? false,
      follow: values.follow ?? false,
      stderr: values.stderr ?? false,
      all: values.all ?? false,
      dryRun: values["dry-run"] ?? false,
      force: values.force ?? false,
      wait: values.wait ?? false,
      timeoutMs: parseSeconds(values.timeout),
      app: values.app,
      tail: parseTail(values.tail),
      framework: values.framework,
      agent: values.agent,
      state: values.state,
    };
    // Every call to the cluster carries the credentials and trusts the CA given.
    let client;
    try {
      client = await clientSecurity(values, io.env);
    } catch (e) {
      throw usageError(e instanceof Error ? e.message : String(e));
    }
    const cluster: Io = { ...io, fetch: withCredentials(io.fetch, client) };
    const apis = new Map<Service, Api>();
    const ctx: CommandContext = {
      io,
      flags,
      args,
      options,
      api(service) {
        let api = apis.get(service);
        if (!api) {
          const s = SERVICES[service];
          const given = service === "agent" ? undefined : values[service] ?? io.env(s.env);
          api = service === "master"
            ? new Api(service, mastersOf(given || s.fallback, cluster), cluster)
            : new Api(service, normalizeUrl(given || s.fallback), cluster);
          apis.set(service, api);
        }
        return api;
      },
      output(human, data) {
        io.out(flags.json ? `${JSON.stringify(data, null, 2)}\n` : human());
      },
    };
    await command.run(ctx);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`tender: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(
      `tender: unexpected failure: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`,
    );
    return EXIT.failed;
  }
}
