/**
 * A latency histogram with fixed log-spaced buckets, the form Prometheus
 * aggregates across nodes: upper bounds from 1 µs to about 10 s, four per
 * decade (1, 1.8, 3.2, 5.6 × 10ⁿ), plus +Inf. Recording is a short loop
 * and two additions; percentiles are read from the buckets (the upper bound
 * of the bucket where the rank falls), so they are as coarse as a bucket.
 *
 * @module
 */

/** Upper bounds of the finite buckets, in seconds. Part of the metrics contract: exporters publish them. */
export const BUCKET_BOUNDS_SECONDS: readonly number[] = Object.freeze(
  Array.from({ length: 29 }, (_, i) => Number((10 ** (-6 + i / 4)).toPrecision(2))),
);

/** One cumulative bucket: how many observations were at most `le` seconds. */
export interface HistogramBucket {
  readonly le: number;
  readonly count: number;
}

/** A frozen view of a {@linkcode Histogram}. */
export interface HistogramSnapshot {
  /** Cumulative counts per upper bound, ending with `le: Infinity` (equal to `count`). */
  readonly buckets: readonly HistogramBucket[];
  /** Sum of the observations, seconds. */
  readonly sumSeconds: number;
  readonly count: number;
  /** Percentiles read from the buckets, microseconds (0 with no observations). */
  readonly p50Micros: number;
  readonly p95Micros: number;
  readonly p99Micros: number;
}

/** Observations of durations, counted into {@linkcode BUCKET_BOUNDS_SECONDS}. */
export class Histogram {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly #counts = new Float64Array(BUCKET_BOUNDS_SECONDS.length + 1);
  #sum = 0;
  #count = 0;

  /** Records one duration in seconds. */
  observe(seconds: number): void {
    const bounds = BUCKET_BOUNDS_SECONDS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += seconds;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** The upper bound, in microseconds, of the bucket holding the `q` quantile (0 ≤ q ≤ 1). */
  quantileMicros(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        // Past the last finite bound the best honest answer is that bound.
        const bound = BUCKET_BOUNDS_SECONDS[Math.min(i, BUCKET_BOUNDS_SECONDS.length - 1)];
        return Math.round(bound * 1e6 * 1000) / 1000;
      }
    }
    return 0;
  }

  snapshot(): HistogramSnapshot {
    const buckets: HistogramBucket[] = [];
    let cumulative = 0;
    for (let i = 0; i < BUCKET_BOUNDS_SECONDS.length; i++) {
      cumulative += this.#counts[i];
      buckets.push(Object.freeze({ le: BUCKET_BOUNDS_SECONDS[i], count: cumulative }));
    }
    buckets.push(Object.freeze({ le: Infinity, count: this.#count }));
    return Object.freeze({
      buckets: Object.freeze(buckets),
      sumSeconds: this.#sum,
      count: this.#count,
      p50Micros: this.quantileMicros(0.5),
      p95Micros: this.quantileMicros(0.95),
      p99Micros: this.quantileMicros(0.99),
    });
  }
}
