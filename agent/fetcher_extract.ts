/**
 * Archives the fetcher extracts into a sandbox, as Mesos' fetcher does: by the file's name,
 * `.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz` with the system's `tar`, `.zip`
 * with `unzip`, `.gz` alone decompressed beside it. Every entry is listed first: one with an
 * absolute name or a `..` step is refused, and nothing is extracted.
 */

/** How an archive is unpacked, from its name; undefined when the name is no archive's. */
export function archiveKind(name: string): "tar" | "zip" | "gz" | undefined {
  const n = name.toLowerCase();
  if (/\.(tar|tgz|tbz2|txz|tar\.gz|tar\.bz2|tar\.xz)$/.test(n)) return "tar";
  if (n.endsWith(".zip")) return "zip";
  if (n.endsWith(".gz")) return "gz";
  return undefined;
}

/** Why an archive entry's name would land outside the directory; undefined when it stays in. */
export function unsafeEntry(name: string): string | undefined {
  if (name.startsWith("/")) return "an absolute path";
  if (name.split("/").includes("..")) return "a `..` step";
  if (name.includes("\0")) return "a NUL character";
  return undefined;
}

async function run(
  cmd: string,
  args: string[],
  signal: AbortSignal,
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `this agent has no \`${cmd}\` to extract it (install ${cmd}, or set extract false)`,
      );
    }
    throw e;
  }
  if (signal.aborted) throw new Error(`${cmd} was stopped: ${String(signal.reason)}`);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join("; ");
    throw new Error(`${cmd} failed: ${err || `exit status ${out.code}`}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * What a verbose tar listing (`tar -tvf`) says of the archive: the bytes its files expand to, and
 * the first device node in it (`b` or `c` entries: tar run as root would make them).
 */
export function tarListing(verbose: string): { bytes: number; device?: string } {
  let bytes = 0;
  for (const line of verbose.split("\n")) {
    if (line === "") continue;
    const type = line[0];
    if (type === "b" || type === "c") return { bytes, device: line };
    const size = Number(line.trim().split(/\s+/)[2]);
    if (Number.isFinite(size)) bytes += size;
  }
  return { bytes };
}

/** How far extraction may go. */
export interface ExtractLimits {
  signal: AbortSignal;
  /** The most bytes the archive may expand to. */
  maxBytes: number;
}

/**
 * Lists the archive's entries and refuses it when one would escape the directory, when it holds
 * a device node, or when it expands to more than `maxBytes`.
 */
async function checkEntries(kind: "tar" | "zip", file: string, limits: ExtractLimits) {
  const { signal, maxBytes } = limits;
  const listing = kind === "tar"
    ? await run("tar", ["-tf", file], signal)
    : await run("unzip", ["-Z1", file], signal);
  for (const name of listing.split("\n")) {
    if (name === "") continue;
    const why = unsafeEntry(name);
    if (why) throw new Error(`its entry ${JSON.stringify(name)} has ${why}, outside the sandbox`);
  }
  let bytes: number;
  if (kind === "tar") {
    const verbose = tarListing(await run("tar", ["-tvf", file], signal));
    if (verbose.device) throw new Error(`it holds a device node (${verbose.device.trim()})`);
    bytes = verbose.bytes;
  } else {
    const total = /(\d+) bytes uncompressed/.exec(await run("unzip", ["-Zt", file], signal));
    bytes = Number(total?.[1] ?? 0);
  }
  if (bytes > maxBytes) {
    throw new Error(`it expands to ${bytes} bytes, over the limit of ${maxBytes} bytes`);
  }
}

/** Clears set-user-id and set-group-id bits below `dir` (an archive's modes are not trusted). */
async function clearSetId(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isSymlink) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      await clearSetId(path);
      continue;
    }
    const mode = (await Deno.lstat(path)).mode ?? 0;
    if (mode & 0o6000) await Deno.chmod(path, mode & 0o1777);
  }
}

/**
 * Extracts `file` into `dir` (the sandbox). A `.gz` that is no tarball becomes the file without
 * `.gz`. Ownership is not taken from the archive; the sandbox is given to the task's user after.
 */
export async function extractArchive(
  file: string,
  dir: string,
  limits: ExtractLimits,
): Promise<void> {
  const kind = archiveKind(file);
  if (kind === undefined) return;
  if (kind === "gz") return await gunzip(file, limits);
  await checkEntries(kind, file, limits);
  if (kind === "tar") {
    await run(
      "tar",
      ["-xf", file, "-C", dir, "--no-same-owner", "--no-overwrite-dir"],
      limits.signal,
    );
  } else {
    await run("unzip", ["-o", "-q", file, "-d", dir], limits.signal);
  }
  await clearSetId(dir);
}

/** `x.gz` → `x` beside it, at most `maxBytes` of it. */
async function gunzip(file: string, limits: ExtractLimits): Promise<void> {
  const out = file.slice(0, -3);
  const there = await Deno.lstat(out).catch(() => undefined);
  if (there?.isSymlink) await Deno.remove(out);
  const input = await Deno.open(file);
  const output = await Deno.open(out, { write: true, create: true, truncate: true, mode: 0o644 });
  let seen = 0;
  const cap = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > limits.maxBytes) {
        throw new Error(`it expands to over the limit of ${limits.maxBytes} bytes`);
      }
      controller.enqueue(chunk);
    },
  });
  await input.readable.pipeThrough(new DecompressionStream("gzip")).pipeThrough(cap).pipeTo(
    output.writable,
    { signal: limits.signal },
  );
}
