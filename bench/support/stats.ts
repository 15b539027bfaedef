// Percentiles and small numeric helpers for benchmark results. Pure functions, no I/O.

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of already sorted values; NaN for an empty list. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** The middle of the finite values (the mean of the two middle ones for an even count); NaN when there are none. */
export function median(values: (number | undefined)[]): number {
  const known = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
  known.sort((a, b) => a - b);
  if (known.length === 0) return Number.NaN;
  const mid = Math.floor(known.length / 2);
  return known.length % 2 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

/** Milliseconds, rounded sensibly for a table: 0.42, 4.2, 42, 420. */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  if (value < 1) return value.toFixed(2);
  if (value < 10) return value.toFixed(1);
  return Math.round(value).toString();
}

export function num(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

/** Counts of events per whole second since `origin` (ms timestamps), from second 0 to the last event. */
export function perSecond(timestamps: number[], origin: number, untilSecond?: number): number[] {
  const last = untilSecond ?? Math.max(0, ...timestamps.map((t) => Math.floor((t - origin) / 1000)));
  const bins = new Array<number>(last + 1).fill(0);
  for (const t of timestamps) {
    const second = Math.floor((t - origin) / 1000);
    if (second >= 0 && second <= last) bins[second]! += 1;
  }
  return bins;
}

/** Throughput over the middle of a burst: completions between the 10th and 90th percentile completion times. */
export function steadyThroughput(completionTimes: number[]): number {
  const sorted = [...completionTimes].sort((a, b) => a - b);
  if (sorted.length < 10) return Number.NaN;
  const t10 = percentile(sorted, 10);
  const t90 = percentile(sorted, 90);
  const count = sorted.filter((t) => t > t10 && t <= t90).length;
  return t90 > t10 ? count / ((t90 - t10) / 1000) : Number.NaN;
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two distinct x. */
export function leastSquaresSlope(xs: number[], ys: number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  const meanX = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const meanY = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    covariance += (xs[i]! - meanX) * (ys[i]! - meanY);
    variance += (xs[i]! - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : covariance / variance;
}
