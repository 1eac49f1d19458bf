/** The OCI distribution error codes, their HTTP statuses, and the error body they are written as. */
import { asTenderError, type ErrorCode, TenderError } from "../protocol/errors.ts";

/** Status for each OCI error code (distribution's `errcode/register.go`, plus 413 for big manifests). */
export const OCI_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TOO_LARGE: 413,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  UNKNOWN: 500,
} as const;

/** An OCI error code. `TOO_LARGE` is written on the wire as `SIZE_INVALID` with status 413. */
export type OciCode = keyof typeof OCI_STATUS;

/** One entry of the OCI error body. */
export interface OciErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

function tenderCode(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 416:
      return "range_not_satisfiable";
    case 429:
      return "too_many_requests";
    case 500:
      return "internal";
    default:
      return "bad_request";
  }
}

/** A failed registry request; `details` holds the OCI error entries written in the body. */
export class RegistryError extends TenderError {
  readonly ociCode: OciCode;
  readonly entries: OciErrorEntry[];
  readonly #status: number;

  constructor(code: OciCode, message: string, detail?: unknown) {
    const entry: OciErrorEntry = {
      code: code === "TOO_LARGE" ? "SIZE_INVALID" : code,
      message,
      ...(detail === undefined ? {} : { detail }),
    };
    super(tenderCode(OCI_STATUS[code]), message, [entry]);
    this.name = "RegistryError";
    this.ociCode = code;
    this.entries = [entry];
    this.#status = OCI_STATUS[code];
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

  override get status(): number {
    return this.#status;
  }
}

/** The OCI error body for any thrown value: registry errors keep their code, others become UNKNOWN. */
export function errorBody(thrown: unknown): { status: number; body: { errors: OciErrorEntry[] } } {
  const error = asTenderError(thrown) ?? thrown;
  if (error instanceof RegistryError) {
    return { status: error.status, body: { errors: error.entries } };
  }
  if (error instanceof TenderError) {
    const code = error.status === 404
      ? "NAME_UNKNOWN"
      : error.status === 413
      ? "SIZE_INVALID"
      : error.status === 429
      ? "TOOMANYREQUESTS"
      : error.status >= 500
      ? "UNKNOWN"
      : "UNSUPPORTED";
    return { status: error.status, body: { errors: [{ code, message: error.message }] } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { errors: [{ code: "UNKNOWN", message }] } };
}
