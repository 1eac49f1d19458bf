/**
 * What the agent offers: resources detected from the host as Mesos detects them, overridden per
 * name by `--resources`, and attributes parsed from `--attributes`.
 */
import type { Attribute } from "../protocol/mod.ts";
import { Resources } from "../protocol/mod.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Facts about the host, in bytes. */
export interface HostFacts {
  cpus: number;
  memBytes?: number;
  diskBytes?: number;
}

/**
 * Mesos' defaults: cpus = cores; mem = total - 1 GiB if total >= 2 GiB else half (1 GiB when
 * unknown); disk = work dir filesystem - 5 GiB if >= 10 GiB else half (10 GiB when unknown);
 * ports [31000-32000]. Megabytes, whole.
 */
export function defaultResources(facts: HostFacts): Resources {
  const mem = facts.memBytes === undefined
    ? GIB
    : facts.memBytes >= 2 * GIB
    ? facts.memBytes - GIB
    : facts.memBytes / 2;
  const disk = facts.diskBytes === undefined
    ? 10 * GIB
    : facts.diskBytes >= 10 * GIB
    ? facts.diskBytes - 5 * GIB
    : facts.diskBytes / 2;
  return Resources.scalars({
    cpus: Math.max(1, facts.cpus),
    mem: Math.floor(mem / MIB),
    disk: Math.floor(disk / MIB),
  }).add(Resources.ranges("ports", [{ begin: 31000, end: 32000 }]));
}

/** Detected resources with those named in `flag` replacing the detected ones of the same name. */
export function mergeResources(detected: Resources, flag: Resources): Resources {
  const given = new Set(flag.names());
  return detected.filter((name) => !given.has(name)).add(flag);
}

/** `MemTotal` of a `/proc/meminfo` text, in bytes. */
export function parseMeminfo(text: string): number | undefined {
  const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The size in bytes of the filesystem from `df -Pk` output (second line, second column). */
export function parseDf(text: string): number | undefined {
  const line = text.trim().split("\n")[1];
  const kb = Number(line?.trim().split(/\s+/)[1]);
  return Number.isFinite(kb) && kb > 0 ? kb * 1024 : undefined;
}

/** Reads the host's cores, memory and the size of the filesystem holding `workDir`. */
export async function detectHost(workDir: string): Promise<HostFacts> {
  let memBytes: number | undefined;
  try {
    memBytes = parseMeminfo(await Deno.readTextFile("/proc/meminfo"));
  } catch { /* not Linux: Mesos' fallback */ }
  let diskBytes: number | undefined;
  try {
    const out = await new Deno.Command("df", {
      args: ["-Pk", workDir],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    if (out.success) diskBytes = parseDf(new TextDecoder().decode(out.stdout));
  } catch { /* no df: Mesos' fallback */ }
  return { cpus: navigator.hardwareConcurrency || 1, memBytes, diskBytes };
}

/** Resources to advertise: detected, then overridden per name by the `--resources` flag. */
export async function agentResources(workDir: string, flag?: string): Promise<Resources> {
  const detected = defaultResources(await detectHost(workDir));
  return flag ? mergeResources(detected, Resources.parse(flag)) : detected;
}

/**
 * Parses `--attributes`: `rack:r1;zone:a;level:10;keys:[1000-1500]` — numbers are SCALAR,
 * `[a-b,...]` RANGES, anything else TEXT. Throws naming the bad part.
 */
export function parseAttributes(text: string): Attribute[] {
  const out: Attribute[] = [];
  for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const colon = part.indexOf(":");
    if (colon <= 0) throw new Error(`invalid attribute "${part}": expected name:value`);
    const name = part.slice(0, colon).trim(), value = part.slice(colon + 1).trim();
    if (value.startsWith("[")) {
      out.push({
        name,
        type: "RANGES",
        ranges: { range: [...Resources.parse(`${name}:${value}`).ranges(name)] },
      });
    } else if (value !== "" && /^-?\d+(\.\d+)?$/.test(value)) {
      out.push({ name, type: "SCALAR", scalar: { value: Number(value) } });
    } else {
      out.push({ name, type: "TEXT", text: { value } });
    }
  }
  return out;
}
