import { describe, expect, it } from 'vitest';
import { createSemaphore, QueueTimeoutError } from './semaphore.js';

describe('createSemaphore', () => {
  it('lets up to the limit through at once and queues the rest in arrival order', async () => {
    const semaphore = createSemaphore(2);
    const first = await semaphore.acquire(1000);
    const second = await semaphore.acquire(1000);
    const order: string[] = [];
    const third = semaphore.acquire(1000).then((release) => {
      order.push('third');
      return release;
    });
    const fourth = semaphore.acquire(1000).then((release) => {
      order.push('fourth');
      return release;
    });
    expect(semaphore.inFlight).toBe(2);
    expect(semaphore.waiting).toBe(2);

    first();
    (await third)();
    second();
    (await fourth)();
    expect(order).toEqual(['third', 'fourth']);
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('gives up waiting after the timeout and leaves the queue', async () => {
    const semaphore = createSemaphore(1);
    const held = await semaphore.acquire(1000);
    const started = Date.now();
    const error = await semaphore.acquire(50).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(QueueTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(semaphore.waiting).toBe(0);
    held();
    // The slot the timed-out waiter never took is free again.
    const next = await semaphore.acquire(10);
    expect(semaphore.inFlight).toBe(1);
    next();
  });

  it('stops waiting when the signal aborts', async () => {
    const semaphore = createSemaphore(1);
    const held = await semaphore.acquire(1000);
    const controller = new AbortController();
    const waiting = semaphore.acquire(10_000, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(semaphore.waiting).toBe(0);
    held();
    expect(semaphore.inFlight).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const semaphore = createSemaphore(1);
    const release = await semaphore.acquire(1000);
    release();
    release();
    expect(semaphore.inFlight).toBe(0);
    const again = await semaphore.acquire(10);
    expect(semaphore.inFlight).toBe(1);
    again();
  });
});
