/** Secret paths: `/prod/db`, the name a secret is stored and referenced by. */

/** The longest secret path. */
export const MAX_SECRET_PATH = 255;

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * The canonical form of a secret path (`prod/db` and `/prod/db` are `/prod/db`), or why it is
 * not one: segments of letters, digits, `_`, `.` and `-`, none `.` or `..`.
 */
export function secretPath(raw: string): { ok: true; path: string } | { ok: false; error: string } {
  const segments = raw.replace(/^\/+/, "").split("/");
  const bad = segments.some((s) => !SEGMENT.test(s) || s === "." || s === "..");
  if (raw.trim() === "" || bad) {
    return {
      ok: false,
      error: "must be a path of segments made of letters, digits, '_', '.' and '-' (as /prod/db)",
    };
  }
  const path = `/${segments.join("/")}`;
  if (path.length > MAX_SECRET_PATH) {
    return { ok: false, error: `must be at most ${MAX_SECRET_PATH} characters long` };
  }
  return { ok: true, path };
}
