// A circuit breaker for one model provider, shared by every role that lists it in one process. It turns a dead
// provider into an instant "not now" instead of one timeout or 5xx per call: after `failures` counted failures
// in a row it opens for `cooldownMs`, then lets one call through as a probe (half-open), which closes it again
// or re-opens it for another cool-down. A provider's Retry-After opens it for exactly as long as it asked.
// Pure logic with an injectable clock; the router decides which failures count (see countsAgainstProvider).

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  /** Counted failures in a row that open the breaker; 0 turns counting off (Retry-After is still honoured). */
  failures: number;
  /** How long an opened breaker refuses calls before it lets one probe through. */
  cooldownMs: number;
}

/** Whether a call may go out now. A refused call is told how long until the provider may be tried again. */
export type Admission = { admitted: true; ticket: BreakerTicket } | { admitted: false; waitMs: number };

/** Handed back with the call's outcome, so only the probe can close (or re-open) a half-open breaker. */
export interface BreakerTicket {
  readonly probe: boolean;
}

export interface CircuitBreaker {
  readonly state: BreakerState;
  admit(): Admission;
  /** The provider answered (a refusal of the request counts: the provider is up). */
  succeeded(ticket: BreakerTicket): void;
  /** A failure of the provider itself: 5xx, timeout, connection failure, broken or empty response. */
  failed(ticket: BreakerTicket): void;
  /** The call ended without saying anything about the provider (cancelled, or it never left our queue). */
  abandoned(ticket: BreakerTicket): void;
  /** The provider asked not to be called for `waitMs` (Retry-After): open at least that long. */
  holdFor(waitMs: number, ticket?: BreakerTicket): void;
  /** Milliseconds until a call may be admitted (0 when one may go out now). */
  waitMs(): number;
  /** While a probe is out: settles once its outcome is known (the breaker closed or opened again). */
  probeSettled(): Promise<void> | undefined;
}

/**
 * How long the router waits for a probe's outcome when no other provider can answer: a dead or healthy vendor
 * usually answers the probe within it. A caller still refused after that is told to come back after a whole
 * cool-down, since a probe that takes longer is most likely hanging until its timeout.
 */
export const PROBE_WAIT_MS = 1_000;

export interface BreakerOptions extends BreakerSettings {
  now?: () => number;
  /** Told of every change of state, with the number of failures in a row that led to it. */
  onChange?: (state: BreakerState, detail: { consecutiveFailures: number; openForMs?: number }) => void;
}

const PROBE: BreakerTicket = { probe: true };
const ORDINARY: BreakerTicket = { probe: false };

export function createCircuitBreaker(options: BreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let state: BreakerState = 'closed';
  let consecutiveFailures = 0;
  /** While open: epoch ms at which the next call becomes the probe. */
  let openUntil = 0;
  let probe: { settled: Promise<void>; settle: () => void } | undefined;

  const become = (next: BreakerState, openForMs = options.cooldownMs) => {
    if (next === 'open') openUntil = now() + openForMs;
    if (next === state) return;
    if (next === 'half-open') {
      let settle: () => void = () => undefined;
      const settled = new Promise<void>((resolve) => {
        settle = resolve;
      });
      probe = { settled, settle };
    } else if (probe) {
      probe.settle();
      probe = undefined;
    }
    state = next;
    options.onChange?.(next, { consecutiveFailures, openForMs: next === 'open' ? openForMs : undefined });
  };

  return {
    get state() {
      return state;
    },
    admit() {
      if (state === 'closed') return { admitted: true, ticket: ORDINARY };
      if (state === 'open') {
        const waitMs = openUntil - now();
        if (waitMs > 0) return { admitted: false, waitMs };
        become('half-open');
        return { admitted: true, ticket: PROBE };
      }
      return { admitted: false, waitMs: options.cooldownMs };
    },
    succeeded(ticket) {
      if (state === 'closed') consecutiveFailures = 0;
      else if (state === 'half-open' && ticket.probe) {
        consecutiveFailures = 0;
        become('closed');
      }
      // While open, late answers of calls admitted before it opened decide nothing: only the probe does.
    },
    failed(ticket) {
      if (state === 'closed') {
        consecutiveFailures += 1;
        if (options.failures > 0 && consecutiveFailures >= options.failures) become('open');
      } else if (state === 'half-open' && ticket.probe) {
        consecutiveFailures += 1;
        become('open');
      }
    },
    abandoned(ticket) {
      // The probe learned nothing: the next caller probes instead.
      if (state === 'half-open' && ticket.probe) become('open', 0);
    },
    holdFor(waitMs, ticket = ORDINARY) {
      if (state === 'half-open' && !ticket.probe) return; // the probe is out; it decides
      if (state === 'open' && openUntil - now() >= waitMs) return;
      become('open', waitMs);
    },
    waitMs() {
      if (state === 'closed') return 0;
      if (state === 'open') return Math.max(0, openUntil - now());
      return options.cooldownMs;
    },
    probeSettled() {
      return probe?.settled;
    },
  };
}
