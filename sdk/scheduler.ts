/** The callback interface a framework implements, and the error its driver's calls throw. */
import type { CallType, InverseOffer, Offer, TaskStatus } from "../protocol/mod.ts";
import { codeOfStatus, TenderError } from "../base/mod.ts";
import type { SchedulerDriver } from "./driver.ts";

/** What the master said when a (re)subscription succeeded. */
export interface SubscribedInfo {
  frameworkId: string;
  heartbeatIntervalSeconds?: number;
  /** True when this is not the driver's first SUBSCRIBED (a reconnection or failover). */
  resubscribed: boolean;
}

/** A MESSAGE event: opaque data an executor sent to the scheduler (base64 on the wire). */
export interface ExecutorMessage {
  agentId: string;
  executorId: string;
  /** Decoded bytes of the message. */
  data: Uint8Array;
}

/** A FAILURE event: an agent was removed, or an executor exited (with `status` when known). */
export interface Failure {
  agentId?: string;
  executorId?: string;
  status?: number;
}

/** What a callback may return: nothing, or a promise the driver waits for before the next one. */
export type CallbackResult = void | Promise<void>;

/**
 * Callbacks a framework implements, all optional. The driver calls them one at a time, in
 * event order, awaiting a returned promise before the next call. A callback that throws is
 * reported (via `error`, or the console when `error` itself throws) and never stops the driver.
 */
export interface Scheduler {
  /** The master accepted the subscription. Called again after each reconnection. */
  subscribed?(driver: SchedulerDriver, info: SubscribedInfo): CallbackResult;
  /** New offers. Each must eventually be accepted (`launch`/`accept`) or declined. */
  offers?(driver: SchedulerDriver, offers: Offer[]): CallbackResult;
  /** An offer is no longer valid (agent gone, offer timeout, ...). */
  rescind?(driver: SchedulerDriver, offerId: string): CallbackResult;
  /**
   * Agents are scheduled for maintenance (each inverse offer names one, with its
   * `unavailability`): move what runs there if you can, then answer with
   * `driver.acceptInverseOffers` or `declineInverseOffers`. Without this hook the driver
   * accepts each at once.
   */
  inverseOffers?(driver: SchedulerDriver, inverseOffers: InverseOffer[]): CallbackResult;
  /** An inverse offer is withdrawn (the schedule changed). */
  rescindInverseOffer?(driver: SchedulerDriver, inverseOfferId: string): CallbackResult;
  /**
   * A task status. With `autoAcknowledge` (the default) the driver acknowledges an update
   * that carries a uuid once this returned (not when it threw: the agent then resends it);
   * updates may repeat, so handle them idempotently.
   */
  update?(driver: SchedulerDriver, status: TaskStatus): CallbackResult;
  /** Data from an executor. Unreliable: may be lost. */
  message?(driver: SchedulerDriver, message: ExecutorMessage): CallbackResult;
  /** An agent or executor failed. No ordering against `update` or `rescind`. */
  failure?(driver: SchedulerDriver, failure: Failure): CallbackResult;
  /**
   * Something went wrong that the framework should know: an ERROR event from the master (the
   * driver stops afterwards), a refused re-subscription, a failed acknowledgement, a
   * callback that threw.
   */
  error?(driver: SchedulerDriver, message: string): CallbackResult;
  /** The event stream broke; the driver is re-subscribing with backoff. Offers are void. */
  disconnected?(driver: SchedulerDriver, reason: string): CallbackResult;
}

/** A scheduler call the master refused or that never reached it. */
export class SchedulerCallError extends TenderError {
  /** The call type, e.g. `ACCEPT`. */
  readonly callType: CallType;
  /** The master's HTTP status, or undefined when the call was not answered (or not sent). */
  readonly httpStatus: number | undefined;
  /** The master's answer body, as text (its error message). */
  readonly body: string;

  constructor(
    options: { callType: CallType; httpStatus?: number; body?: string; message: string },
  ) {
    super(codeFor(options.httpStatus), options.message, {
      callType: options.callType,
      httpStatus: options.httpStatus,
    });
    this.name = "SchedulerCallError";
    this.callType = options.callType;
    this.httpStatus = options.httpStatus;
    this.body = options.body ?? "";
  }
}

function codeFor(status: number | undefined): TenderError["code"] {
  return status === undefined ? "unavailable" : codeOfStatus(status);
}
