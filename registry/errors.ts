/** The OCI distribution error codes, their HTTP statuses, and the error body they are written as. */
import { type ErrorCode, type HttpFailure, TenderError } from "../base/mod.ts";

/**
 * The Tender code of each OCI error code, whose HTTP status `HTTP_STATUS` gives (distribution's
 * `errcode/register.go`, plus 413 for big manifests): one table of statuses for every API.
 */
export const OCI_CODES = {
  BLOB_UNKNOWN: "not_found",
  BLOB_UPLOAD_INVALID: "bad_request",
  BLOB_UPLOAD_UNKNOWN: "not_found",
  DIGEST_INVALID: "bad_request",
  MANIFEST_BLOB_UNKNOWN: "bad_request",
  MANIFEST_INVALID: "bad_request",
  MANIFEST_UNKNOWN: "not_found",
  NAME_INVALID: "bad_request",
  NAME_UNKNOWN: "not_found",
  SIZE_INVALID: "bad_request",
  TOO_LARGE: "payload_too_large",
  TAG_INVALID: "bad_request",
  UNAUTHORIZED: "unauthorized",
  DENIED: "forbidden",
  UNSUPPORTED: "method_not_allowed",
  TOOMANYREQUESTS: "too_many_requests",
  RANGE_INVALID: "range_not_satisfiable",
  PAGINATION_NUMBER_INVALID: "bad_request",
  UNKNOWN: "internal",
} as const satisfies Record<string, ErrorCode>;

/** An OCI error code. `TOO_LARGE` is written on the wire as `SIZE_INVALID` with status 413. */
export type OciCode = keyof typeof OCI_CODES;

/** One entry of the OCI error body. */
export interface OciErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** A failed registry request; `details` holds the OCI error entries written in the body. */
export class RegistryError extends TenderError {
  readonly ociCode: OciCode;
  readonly entries: OciErrorEntry[];

  constructor(code: OciCode, message: string, detail?: unknown) {
    const entry: OciErrorEntry = {
      code: code === "TOO_LARGE" ? "SIZE_INVALID" : code,
      message,
      ...(detail === undefined ? {} : { detail }),
    };
    super(OCI_CODES[code], message, [entry]);
    this.name = "RegistryError";
    this.ociCode = code;
    this.entries = [entry];
  }

  /** One error carrying several entries of the same code (e.g. one per missing blob). */
  static many(code: OciCode, entries: { message: string; detail?: unknown }[]): RegistryError {
    const first = entries[0] ?? { message: code };
    const error = new RegistryError(code, first.message, first.detail);
    for (const e of entries.slice(1)) {
      error.entries.push({
        code,
        message: e.message,
        ...(e.detail === undefined ? {} : { detail: e.detail }),
      });
    }
    return error;
  }
}

/** The OCI code a Tender error of another kind is written with. */
const OCI_CODE_OF: Partial<Record<ErrorCode, OciCode>> = {
  not_found: "NAME_UNKNOWN",
  payload_too_large: "SIZE_INVALID",
  too_many_requests: "TOOMANYREQUESTS",
  internal: "UNKNOWN",
  unavailable: "UNKNOWN",
};

/** The OCI error entries of a failure: a registry error's own, else one entry for its code. */
export function ociEntries(failure: HttpFailure): OciErrorEntry[] {
  if (failure.thrown instanceof RegistryError) return failure.thrown.entries;
  const code = OCI_CODE_OF[failure.code] ?? "UNSUPPORTED";
  return [{ code, message: failure.message }];
}
