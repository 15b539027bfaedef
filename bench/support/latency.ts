// Model latency for long benchmark runs: a seeded log-normal distribution clipped to a range, so the fake LLM
// answers like a real vendor (most calls in a few seconds, a long tail) and a rerun draws the same sequence.
// Pure functions, no I/O.

export interface LatencyModel {
  /** Seed of the pseudo-random sequence: the same seed draws the same delays in the same order. */
  seed: number;
  /** Median of the log-normal before clipping. */
  medianMs: number;
  /** Standard deviation of the delay's natural logarithm. */
  sigma: number;
  minMs: number;
  maxMs: number;
}

/**
 * Median 3 s; sigma chosen so the unclipped 99th percentile is 20 s (ln(20/3) / 2.326 = 0.816), then clipped to
 * 1-20 s: about 9 % of calls take the 1 s floor and 1 % the 20 s ceiling; the mean is about 4.2 s.
 */
export const REALISTIC_MODEL_LATENCY: LatencyModel = {
  seed: 1409,
  medianMs: 3_000,
  sigma: Math.log(20 / 3) / 2.326,
  minMs: 1_000,
  maxMs: 20_000,
};

/** mulberry32: a small, fast 32-bit generator; uniform in [0, 1). Not for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Draws delays in milliseconds from the model, one per call, in a sequence fixed by its seed. */
export function latencySampler(model: LatencyModel): () => number {
  const random = seededRandom(model.seed);
  return () => {
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const delay = model.medianMs * Math.exp(model.sigma * normal);
    return Math.round(Math.min(model.maxMs, Math.max(model.minMs, delay)));
  };
}
