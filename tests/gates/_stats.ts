/**
 * The statistic of the Stage A budget gate: a median with a distribution-free
 * one-sided confidence bound (order statistics of the binomial).
 *
 * @module
 */

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
export function binomialCdf(k: number, n: number): number {
  let p = 0, c = 1;
  for (let i = 0; i <= k; i++) {
    p += c;
    c = c * (n - i) / (i + 1);
  }
  return p / 2 ** n;
}

/**
 * Median and one-sided 95% lower confidence bound of the median of sorted
 * values: the k-th smallest value, with k the largest rank such that
 * P(Binomial(n, ½) ≤ k − 1) ≤ 5%.
 */
export function medianWithLowerBound(sorted: number[]): { median: number; lower: number; rank: number } {
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  let k = 1;
  while (binomialCdf(k, n) <= 0.05) k++;
  return { median, lower: sorted[k - 1], rank: k };
}
