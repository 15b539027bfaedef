import { describe, expect, it } from 'vitest';
import { latencySampler, REALISTIC_MODEL_LATENCY } from './latency.js';
import { leastSquaresSlope, percentile } from './stats.js';

describe("the soak scenario's model latency", () => {
  it('draws the same delays in the same order for the same seed', () => {
    const first = latencySampler(REALISTIC_MODEL_LATENCY);
    const second = latencySampler(REALISTIC_MODEL_LATENCY);
    const a = Array.from({ length: 50 }, first);
    expect(Array.from({ length: 50 }, second)).toEqual(a);
    const other = latencySampler({ ...REALISTIC_MODEL_LATENCY, seed: 7 });
    expect(Array.from({ length: 50 }, other)).not.toEqual(a);
  });

  it('stays within 1-20 s with a median near 3 s and a long tail', () => {
    const draw = latencySampler(REALISTIC_MODEL_LATENCY);
    const delays = Array.from({ length: 20_000 }, draw).sort((a, b) => a - b);
    expect(delays[0]).toBe(1_000);
    expect(delays.at(-1)).toBe(20_000);
    expect(percentile(delays, 50)).toBeGreaterThan(2_800);
    expect(percentile(delays, 50)).toBeLessThan(3_200);
    expect(percentile(delays, 90)).toBeGreaterThan(7_000);
    const floor = delays.filter((d) => d === 1_000).length / delays.length;
    expect(floor).toBeGreaterThan(0.07);
    expect(floor).toBeLessThan(0.11);
  });
});

describe('leastSquaresSlope', () => {
  it('recovers the slope of a noisy line and is NaN without two distinct x', () => {
    const xs = Array.from({ length: 60 }, (_, i) => i / 2);
    const ys = xs.map((x, i) => 200 + 3 * x + (i % 2 === 0 ? 1 : -1));
    expect(leastSquaresSlope(xs, ys)).toBeCloseTo(3, 1);
    expect(leastSquaresSlope([1], [5])).toBeNaN();
    expect(leastSquaresSlope([2, 2], [1, 9])).toBeNaN();
  });
});
