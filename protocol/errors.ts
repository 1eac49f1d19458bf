/** The one error type of Tender, and the single table that maps its codes to HTTP statuses. */

/** Why a request failed. Each code has exactly one HTTP status, in `HTTP_STATUS`. */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "unprocessable"
  | "range_not_satisfiable"
  | "request_timeout"
  | "payload_too_large"
  | "too_many_requests"
  | "unavailable"
  | "internal";

/** HTTP status for each error code. */
export const HTTP_STATUS: Record<
  ErrorCode,
  400 | 401 | 403 | 404 | 405 | 408 | 409 | 413 | 416 | 422 | 429 | 503 | 500
> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  unprocessable: 422,
  range_not_satisfiable: 416,
  request_timeout: 408,
  payload_too_large: 413,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
};

/** A failed request. `details` carries structured data for APIs whose error bodies demand it. */
export class TenderError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "TenderError";
    this.code = code;
    this.details = details;
  }

  /** The HTTP status this error answers with. */
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

/** Shorthand for the most common failure: a request that names something invalid. */
export function badRequest(message: string, details?: unknown): TenderError {
  return new TenderError("bad_request", message, details);
}

/**
 * What a thrown value means to the client, when it is the client's fault: a `TenderError` as
 * it is, a malformed percent-encoding in the URL (`URIError` from decoding a path) as
 * `bad_request`. Undefined for anything else, which servers answer as an internal error.
 */
export function asTenderError(err: unknown): TenderError | undefined {
  if (err instanceof TenderError) return err;
  if (err instanceof URIError) return badRequest(`Malformed URI: ${err.message}`);
  return undefined;
}
