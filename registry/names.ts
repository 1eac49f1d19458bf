/** Repository names, tags and digests: the distribution spec's grammars, as pure checks. */

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";

/** A repository name: lowercase components joined by `/` (spec `<name>`). */
export const NAME_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** A tag: up to 128 word characters, dots and dashes, not starting with `.` or `-`. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Any digest per the image-spec grammar (`algorithm:encoded`). */
export const DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A sha256 digest, the one algorithm this registry stores. */
export const SHA256_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** Longest repository name accepted (distribution's `RepositoryNameTotalLengthMax`). */
export const NAME_MAX_LENGTH = 255;

/** True for a valid repository name. */
export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

/** True for a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** How a digest string reads: a supported sha256 digest, a well-formed other one, or garbage. */
export type DigestCheck = "sha256" | "unsupported" | "invalid";

/** Classifies a digest string. */
export function checkDigest(digest: string): DigestCheck {
  if (SHA256_PATTERN.test(digest)) return "sha256";
  if (!DIGEST_PATTERN.test(digest)) return "invalid";
  const [algorithm] = digest.split(":");
  // Registered algorithms with a fixed encoding: anything else in their namespace is malformed.
  if (algorithm === "sha256" || algorithm === "sha512" || algorithm === "blake3") {
    return algorithm === "sha512" && /^sha512:[a-f0-9]{128}$/.test(digest) ? "unsupported" : (
      algorithm === "blake3" && /^blake3:[a-f0-9]{64}$/.test(digest) ? "unsupported" : "invalid"
    );
  }
  return "unsupported";
}

/** A manifest reference: a tag or a digest. */
export type Reference = { kind: "tag"; tag: string } | { kind: "digest"; digest: string };

/** Parses a manifest `<reference>`: a digest when it contains `:`, else a tag; undefined if neither. */
export function parseReference(reference: string): Reference | undefined {
  if (reference.includes(":")) {
    return checkDigest(reference) === "invalid" ? undefined : { kind: "digest", digest: reference };
  }
  return isValidTag(reference) ? { kind: "tag", tag: reference } : undefined;
}
