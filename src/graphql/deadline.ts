/**
 * The deadline of one unit of GraphQL work: an HTTP request, a websocket query, a subscription's
 * start, one subscription event. Its signal aborts with REQUEST_TIMEOUT when the time is up (or
 * with another reason when the client went away); the request's engine (context.ts) hands it to
 * every query, which then does not start or is cancelled (engine/types.ts QueryOptions).
 */
import { GatewayError, GatewayErrorCode, errors } from '../errors';

/** A restartable deadline; see the module comment. */
export class RequestDeadline {
  private controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  /** Starts the deadline now. */
  constructor(readonly timeoutMs: number) {
    this.arm();
  }

  /** The current unit of work's signal (read it at each use: restart() replaces it). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ends the current unit and starts a new one with a fresh deadline (each subscription event). */
  restart(): void {
    this.dispose();
    this.controller = new AbortController();
    this.arm();
  }

  /** Aborts now: the client went away, so nothing more is worth running for it. */
  abandon(): void {
    this.dispose();
    this.controller.abort(new GatewayError(GatewayErrorCode.REQUEST_TIMEOUT, 'The client closed the request', { retriable: true }));
  }

  /** Stops the timer (the work is done); the signal stays as it is. Idempotent. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const controller = this.controller;
    this.timer = setTimeout(() => controller.abort(errors.requestTimeout(this.timeoutMs)), this.timeoutMs);
    this.timer.unref(); // a pending deadline never keeps the process alive
  }
}
