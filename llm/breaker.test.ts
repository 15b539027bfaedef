import { describe, expect, it } from 'vitest';
import { type BreakerState, createCircuitBreaker } from './breaker.js';

function breaker(failures = 3, cooldownMs = 10_000) {
  const clock = { now: 1_000_000 };
  const changes: BreakerState[] = [];
  const instance = createCircuitBreaker({
    failures,
    cooldownMs,
    now: () => clock.now,
    onChange: (state) => changes.push(state),
  });
  const fail = (times: number) => {
    for (let i = 0; i < times; i += 1) {
      const admission = instance.admit();
      if (!admission.admitted) throw new Error('expected the call to be admitted');
      instance.failed(admission.ticket);
    }
  };
  return { instance, clock, changes, fail };
}

describe('createCircuitBreaker', () => {
  it('stays closed below the threshold, and a success resets the count', () => {
    const { instance, fail } = breaker(3);
    fail(2);
    const admission = instance.admit();
    expect(admission.admitted).toBe(true);
    if (admission.admitted) instance.succeeded(admission.ticket);
    fail(2);
    expect(instance.state).toBe('closed');
    expect(instance.waitMs()).toBe(0);
  });

  it('opens after the threshold of failures in a row and refuses calls with the remaining cool-down', () => {
    const { instance, clock, changes, fail } = breaker(3, 10_000);
    fail(3);
    expect(instance.state).toBe('open');
    expect(changes).toEqual(['open']);
    clock.now += 4_000;
    expect(instance.admit()).toEqual({ admitted: false, waitMs: 6_000 });
    expect(instance.waitMs()).toBe(6_000);
  });

  it('lets exactly one probe through after the cool-down; others are refused; a good probe closes it', () => {
    const { instance, clock, changes, fail } = breaker(2, 10_000);
    fail(2);
    clock.now += 10_000;
    const probe = instance.admit();
    expect(probe).toMatchObject({ admitted: true, ticket: { probe: true } });
    expect(instance.state).toBe('half-open');
    expect(instance.admit()).toEqual({ admitted: false, waitMs: 10_000 });
    if (probe.admitted) instance.succeeded(probe.ticket);
    expect(instance.state).toBe('closed');
    expect(instance.admit().admitted).toBe(true);
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('lets callers wait for the probe outcome', async () => {
    const { instance, clock, fail } = breaker(1, 10_000);
    fail(1);
    expect(instance.probeSettled()).toBeUndefined();
    clock.now += 10_000;
    const probe = instance.admit();
    const settled = instance.probeSettled();
    expect(settled).toBeInstanceOf(Promise);
    if (probe.admitted) instance.succeeded(probe.ticket);
    await settled;
    expect(instance.probeSettled()).toBeUndefined();
  });

  it('re-opens for a whole cool-down when the probe fails', () => {
    const { instance, clock, fail } = breaker(2, 10_000);
    fail(2);
    clock.now += 10_000;
    const probe = instance.admit();
    if (probe.admitted) instance.failed(probe.ticket);
    expect(instance.state).toBe('open');
    expect(instance.waitMs()).toBe(10_000);
  });

  it('ignores late outcomes of calls admitted before it opened: only the probe decides', () => {
    const { instance, clock } = breaker(1, 10_000);
    const early = instance.admit();
    const failing = instance.admit();
    if (failing.admitted) instance.failed(failing.ticket);
    expect(instance.state).toBe('open');
    if (early.admitted) instance.succeeded(early.ticket);
    expect(instance.state).toBe('open');
    clock.now += 10_000;
    const probe = instance.admit();
    if (early.admitted) instance.failed(early.ticket);
    expect(instance.state).toBe('half-open');
    if (probe.admitted) instance.succeeded(probe.ticket);
    expect(instance.state).toBe('closed');
  });

  it('hands the probe to the next caller when the probe was abandoned', () => {
    const { instance, clock, fail } = breaker(1, 10_000);
    fail(1);
    clock.now += 10_000;
    const probe = instance.admit();
    if (probe.admitted) instance.abandoned(probe.ticket);
    expect(instance.admit()).toMatchObject({ admitted: true, ticket: { probe: true } });
  });

  it('holds the provider for exactly its Retry-After, never shortening a longer open period', () => {
    const { instance, clock } = breaker(5, 10_000);
    instance.holdFor(3_000);
    expect(instance.state).toBe('open');
    expect(instance.waitMs()).toBe(3_000);
    instance.holdFor(1_000);
    expect(instance.waitMs()).toBe(3_000);
    clock.now += 3_000;
    expect(instance.admit()).toMatchObject({ admitted: true, ticket: { probe: true } });
  });

  it('with a threshold of 0 never opens on failures but still honours Retry-After', () => {
    const { instance, fail } = breaker(0, 10_000);
    fail(50);
    expect(instance.state).toBe('closed');
    instance.holdFor(2_000);
    expect(instance.waitMs()).toBe(2_000);
  });
});
