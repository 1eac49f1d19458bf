/**
 * `tender certs`: a development CA and a server certificate for a cluster, made with the
 * `openssl` CLI (security/dev_certs.ts). Every server takes `--tls-cert DIR/server.crt
 * --tls-key DIR/server.key`; every client `--ca DIR/ca.crt` (or `TENDER_CA`).
 */
import { CliError, usageError } from "../errors.ts";
import type { Command } from "../command.ts";
import { DEFAULT_CERT_HOSTS, makeDevCerts, subjectAltName } from "../../security/mod.ts";

function text(value: string | boolean | undefined, flag: string): string | undefined {
  if (typeof value === "boolean") throw usageError(`--${flag} wants a value`);
  return value;
}

/** `tender certs [--out DIR] [--hosts H,H...] [--days N] [--name NAME]`. */
export const certsCommand: Command = {
  name: "certs",
  usage: "certs [--out DIR] [--hosts 127.0.0.1,localhost,NAME...] [--days 825] [--name server]",
  summary: "make a dev CA and a server certificate (openssl)",
  options: {
    out: { type: "string" },
    hosts: { type: "string" },
    days: { type: "string" },
    name: { type: "string" },
  },
  async run(ctx) {
    if (ctx.args.length > 0) throw usageError(`certs takes no arguments, got "${ctx.args[0]}"`);
    const out = text(ctx.options.out, "out") ?? "./.tender/certs";
    const hostsText = text(ctx.options.hosts, "hosts");
    const hosts = hostsText === undefined
      ? DEFAULT_CERT_HOSTS
      : hostsText.split(",").map((h) => h.trim()).filter((h) => h !== "");
    if (hosts.length === 0) throw usageError("--hosts: give at least one host");
    const daysText = text(ctx.options.days, "days");
    const days = daysText === undefined ? undefined : Number(daysText);
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 36_500)) {
      throw usageError(`--days: "${daysText}" must be a whole number of days from 1 to 36500`);
    }
    try {
      for (const host of hosts) subjectAltName(host);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    let made;
    try {
      made = await makeDevCerts({
        out,
        hosts,
        days,
        name: text(ctx.options.name, "name"),
        force: ctx.flags.force,
      });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    ctx.output(
      () =>
        [
          `${
            made.newCa ? "made" : "reused"
          } CA  ${made.caCert} (key ${made.caKey}, keep it private)`,
          `certificate ${made.cert} for ${hosts.join(", ")}`,
          `key         ${made.key} (mode 0600)`,
          "",
          "Servers: --tls-cert " + made.cert + " --tls-key " + made.key,
          "Clients: --ca " + made.caCert + " (or TENDER_CA=" + made.caCert + ")",
          "Docker:  sudo mkdir -p /etc/docker/certs.d/HOST:PORT && " +
          "sudo cp " + made.caCert + " /etc/docker/certs.d/HOST:PORT/ca.crt",
          "",
        ].join("\n"),
      { ...made, hosts },
    );
  },
};
