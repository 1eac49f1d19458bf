/**
 * The one error type of Tender, the single table that maps its codes to HTTP statuses, and the
 * one `onError` every server installs with its API's renderer (Mesos' plain text, Marathon's and
 * Metronome's `{"message": …}`, the OCI `{"errors": […]}`): one mapping, several body shapes.
 */
import type { Context, ErrorHandler } from "hono";

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

/** The HTTP status of a failed request. */
export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 408
  | 409
  | 413
  | 416
  | 422
  | 429
  | 503
  | 500;

/** HTTP status for each error code. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, ErrorStatus>> = {
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
  get status(): ErrorStatus {
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

const CODE_OF_STATUS = new Map<number, ErrorCode>(
  Object.entries(HTTP_STATUS).map(([code, status]) => [status, code as ErrorCode]),
);

/**
 * The code an answer's status stands for (`HTTP_STATUS` read backwards), for clients and for
 * APIs whose own codes come with a status (OCI's): another 4xx is a bad request, anything else
 * an internal error.
 */
export function codeOfStatus(status: number): ErrorCode {
  return CODE_OF_STATUS.get(status) ?? (status >= 400 && status < 500 ? "bad_request" : "internal");
}

/** A failed request as its client is told: what every API's renderer writes. */
export interface HttpFailure {
  readonly status: ErrorStatus;
  readonly code: ErrorCode;
  /** The error's message; for an unexpected throw, `Internal error: <its message>`. */
  readonly message: string;
  readonly details: unknown;
  /** The error as a `TenderError`; undefined for an unexpected throw (a 500, logged). */
  readonly error: TenderError | undefined;
  /** What was thrown, as it was (a renderer may look for its own subclasses). */
  readonly thrown: unknown;
}

/** What any thrown value tells the client: `HTTP_STATUS` of its code, else a 500. */
export function httpFailure(thrown: unknown): HttpFailure {
  const error = asTenderError(thrown);
  if (error) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      details: error.details,
      error,
      thrown,
    };
  }
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return {
    status: HTTP_STATUS.internal,
    code: "internal",
    message: `Internal error: ${message}`,
    details: undefined,
    error: undefined,
    thrown,
  };
}

/** Writes a failure in one API's body shape. */
export type FailureRenderer = (failure: HttpFailure, c: Context) => Response | Promise<Response>;

/**
 * The one `onError`: maps what a handler threw with `httpFailure`, logs an unexpected throw
 * (with its stack, as `source`) and answers with `render`. Route handlers hold no try/catch.
 */
export function httpErrorHandler(
  source: string,
  render: FailureRenderer,
  log: (line: string) => void = (line) => console.error(line),
): ErrorHandler {
  return (err, c) => {
    const failure = httpFailure(err);
    if (failure.error === undefined) {
      log(
        JSON.stringify({
          level: "error",
          msg: `${source}: unhandled`,
          error: String(err?.stack ?? err),
        }),
      );
    }
    return render(failure, c);
  };
}

/** The message as plain text: Mesos' error bodies (master, agent), the router's, the simulator's. */
export const plainText: FailureRenderer = (failure, c) => c.text(failure.message, failure.status);
