// A counting semaphore with a FIFO queue, so one provider never has more than its maxConcurrency requests in
// flight from this process. Waiting is bounded: a caller that gets no slot in time is told so and moves on.

export class QueueTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no free slot within ${waitedMs} ms`);
    this.name = 'QueueTimeoutError';
  }
}

export interface Semaphore {
  /** Resolves with a release function once a slot is free; rejects after `timeoutMs` or when `signal` aborts. */
  acquire(timeoutMs: number, signal?: AbortSignal): Promise<() => void>;
  readonly inFlight: number;
  readonly waiting: number;
}

interface Waiter {
  grant: () => void;
}

export function createSemaphore(limit: number): Semaphore {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer`);
  let inFlight = 0;
  const queue: Waiter[] = [];

  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next waiter, so a late arrival cannot overtake the queue.
      const next = queue.shift();
      if (next) next.grant();
      else inFlight -= 1;
    };
  };

  return {
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queue.length;
    },
    acquire(timeoutMs, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (inFlight < limit && queue.length === 0) {
        inFlight += 1;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve, reject) => {
        const leave = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const index = queue.indexOf(waiter);
          if (index !== -1) queue.splice(index, 1);
        };
        const waiter: Waiter = {
          grant: () => {
            leave();
            resolve(releaser());
          },
        };
        const onAbort = () => {
          leave();
          reject(signal?.reason);
        };
        const timer = setTimeout(() => {
          leave();
          reject(new QueueTimeoutError(timeoutMs));
        }, timeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
  };
}
