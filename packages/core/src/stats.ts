/**
 * Pure statistics for benchmark repetitions. No I/O, no clock, no global randomness.
 *
 * Intervals are distribution-free: the confidence interval of a median is a pair of order
 * statistics whose coverage follows from the binomial distribution alone, whatever the shape of
 * the data. That makes the confidence exact and honest at the small n benchmarks have, where a
 * percentile bootstrap of the median is known to under-cover (at n = 3 it claims 95% and reaches
 * about 75% at best). When n is too small for the requested level, the widest interval (min to
 * max) is reported with the confidence it really has, never the one that was asked for.
 */

/** The level every interval aims for unless told otherwise. */
export const DEFAULT_CONFIDENCE = 0.95;

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  stdev: number;
  /** Coefficient of variation: stdev / mean (0 when the mean is 0). */
  cv: number;
  /** Order-statistic confidence interval of the median. */
  ciLow: number;
  ciHigh: number;
  /** The coverage the interval actually has (0 for a single value). */
  confidence: number;
  /** The coverage that was asked for; `confidence` is below it when n is too small. */
  confidenceTarget: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function assertNonEmpty(values: readonly number[], what: string): void {
  if (values.length === 0) throw new RangeError(`${what} of an empty sample`);
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`${what}: non-finite value ${v}`);
}

function assertLevel(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} outside (0, 1)`);
}

/** Quantile by linear interpolation between closest ranks (type 7, as R and numpy default). */
export function quantile(values: readonly number[], q: number): number {
  assertNonEmpty(values, 'quantile');
  if (q < 0 || q > 1) throw new RangeError(`quantile ${q} outside [0, 1]`);
  const s = sorted(values);
  const position = (s.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const lowValue = s[lower]!;
  const highValue = s[upper]!;
  return lowValue + (highValue - lowValue) * (position - lower);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function mean(values: readonly number[]): number {
  assertNonEmpty(values, 'mean');
  let total = 0;
  for (const v of values) total += v;
  return total / values.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function stdev(values: readonly number[]): number {
  assertNonEmpty(values, 'stdev');
  if (values.length < 2) return 0;
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** mulberry32: a small, fast, seedable generator, for simulations in tests and docs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** P(B <= k) for B ~ Binomial(n, 1/2), exact for the n a benchmark has (terms are summed in log space). */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let logTerm = -n * Math.LN2; // log C(n, 0) / 2^n
  let total = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log(n - i + 1) - Math.log(i);
    total += Math.exp(logTerm);
  }
  return Math.min(1, total);
}

/**
 * Coverage of [x(k), x(n+1-k)] (1-based order statistics) for the population median: the median
 * lies outside only when fewer than k of the n values fall on one side of it.
 */
export function rankIntervalCoverage(k: number, n: number): number {
  if (k < 1 || 2 * k > n + 1) throw new RangeError(`no rank interval with k = ${k} at n = ${n}`);
  if (2 * k === n + 1) return 0; // a single order statistic covers a continuous median with probability 0
  return 1 - 2 * binomialHalfCdf(k - 1, n);
}

export interface MedianInterval {
  low: number;
  high: number;
  /** The coverage reached (see rankIntervalCoverage). */
  confidence: number;
  confidenceTarget: number;
  /** 1-based ranks of the bounds in the sorted sample. */
  lowRank: number;
  highRank: number;
}

/**
 * The narrowest symmetric order-statistic interval of the median whose coverage reaches
 * `confidence`; when none does (n too small), min to max with its real, lower coverage.
 */
export function medianInterval(values: readonly number[], confidence = DEFAULT_CONFIDENCE): MedianInterval {
  assertNonEmpty(values, 'median interval');
  assertLevel(confidence);
  const s = sorted(values);
  const n = s.length;
  let k = 1;
  while (2 * (k + 1) < n + 1 && rankIntervalCoverage(k + 1, n) >= confidence) k++;
  const reached = n === 1 ? 0 : rankIntervalCoverage(k, n);
  return {
    low: s[k - 1]!,
    high: s[n - k]!,
    confidence: reached,
    confidenceTarget: confidence,
    lowRank: k,
    highRank: n + 1 - k,
  };
}

/** The fewest values whose min..max interval reaches `confidence` (6 for 95%). */
export function minimumRepetitionsFor(confidence = DEFAULT_CONFIDENCE): number {
  assertLevel(confidence);
  let n = 2;
  while (rankIntervalCoverage(1, n) < confidence) n++;
  return n;
}

/** Median, spread and the order-statistic interval of the median: the shape every figure takes. */
export function summarize(values: readonly number[], confidence = DEFAULT_CONFIDENCE): Summary {
  assertNonEmpty(values, 'summary');
  const m = mean(values);
  const sd = stdev(values);
  const interval = medianInterval(values, confidence);
  const s = sorted(values);
  return {
    n: values.length,
    median: median(values),
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: m,
    stdev: sd,
    cv: m === 0 ? 0 : sd / m,
    ciLow: interval.low,
    ciHigh: interval.high,
    confidence: interval.confidence,
    confidenceTarget: confidence,
  };
}

/** Which statistic a ratio is: the two are not interchangeable, so results say which. */
export type RatioStatistic = 'median-of-paired-ratios' | 'ratio-of-medians';

export interface RatioEstimate {
  ratio: number;
  ciLow: number;
  ciHigh: number;
  /** The coverage reached; for a ratio of medians a lower bound (see ratioEstimate). */
  confidence: number;
  confidenceTarget: number;
  statistic: RatioStatistic;
  /** Paired: numerator and denominator measured in the same interleaved round. */
  paired: boolean;
  n: number;
}

/**
 * The ratio of two throughputs with its interval.
 * - Paired (the runner's case: both measured in the same round, sharing the machine's drift):
 *   the median of the per-round ratios, with that sample's order-statistic interval. Its
 *   coverage is exact for the median per-round ratio.
 * - Unpaired: the ratio of the two medians. Each median gets an interval at 1 - (1 - c) / 2, and
 *   the ratio's interval divides their bounds crosswise; by Bonferroni both hold at once with
 *   probability at least c1 + c2 - 1, which is the confidence reported (conservative, never
 *   inflated).
 */
export function ratioEstimate(
  numerator: readonly number[],
  denominator: readonly number[],
  options: { paired?: boolean; confidence?: number } = {},
): RatioEstimate {
  assertNonEmpty(numerator, 'ratio numerator');
  assertNonEmpty(denominator, 'ratio denominator');
  if (denominator.some((d) => d <= 0)) throw new RangeError('ratio: denominator must be positive');
  const target = options.confidence ?? DEFAULT_CONFIDENCE;
  assertLevel(target);
  if (options.paired) {
    if (numerator.length !== denominator.length)
      throw new RangeError('paired ratio: samples differ in length');
    const ratios = numerator.map((x, i) => x / denominator[i]!);
    const interval = medianInterval(ratios, target);
    return {
      ratio: median(ratios),
      ciLow: interval.low,
      ciHigh: interval.high,
      confidence: interval.confidence,
      confidenceTarget: target,
      statistic: 'median-of-paired-ratios',
      paired: true,
      n: ratios.length,
    };
  }
  const combined = quotientInterval(
    medianInterval(numerator, 1 - (1 - target) / 2),
    medianInterval(denominator, 1 - (1 - target) / 2),
  );
  return {
    ratio: median(numerator) / median(denominator),
    ciLow: combined.low,
    ciHigh: combined.high,
    confidence: combined.confidence,
    confidenceTarget: target,
    statistic: 'ratio-of-medians',
    paired: false,
    n: Math.min(numerator.length, denominator.length),
  };
}

/**
 * Interval of a / b from independent intervals of a and b (positive quantities): both hold with
 * probability at least ca + cb - 1, so that is the confidence claimed.
 */
export function quotientInterval(
  a: { low: number; high: number; confidence: number },
  b: { low: number; high: number; confidence: number },
): { low: number; high: number; confidence: number } {
  if (b.low <= 0) throw new RangeError('quotient interval: the denominator interval must be positive');
  return {
    low: a.low / b.high,
    high: a.high / b.low,
    confidence: Math.max(0, a.confidence + b.confidence - 1),
  };
}

/** Half the interval's width relative to its estimate: 0.05 means "within ±5%". */
export function relativeHalfWidth(estimate: { ciLow: number; ciHigh: number }, centre: number): number {
  if (centre <= 0) return Number.POSITIVE_INFINITY;
  return (estimate.ciHigh - estimate.ciLow) / 2 / centre;
}

export interface ChangeEstimate {
  /** Ratio of the two runs' figures (b / a); 1 means no change. */
  ratio: number;
  ciLow: number;
  ciHigh: number;
  confidence: number;
  /** False when the interval contains 1: "no change detected". */
  significant: boolean;
}

/**
 * Whether two independent runs' ratios differ beyond the noise, as criterion.rs reports it: the
 * interval of (ratio in b) / (ratio in a), each run's median per-round ratio taken at
 * 1 - (1 - c) / 2 so that together they reach at least c.
 */
export function changeBetween(
  roundRatiosA: readonly number[],
  roundRatiosB: readonly number[],
  confidence = DEFAULT_CONFIDENCE,
): ChangeEstimate {
  const level = 1 - (1 - confidence) / 2;
  const a = medianInterval(roundRatiosA, level);
  const b = medianInterval(roundRatiosB, level);
  const combined = quotientInterval(b, a);
  return {
    ratio: median(roundRatiosB) / median(roundRatiosA),
    ciLow: combined.low,
    ciHigh: combined.high,
    confidence: combined.confidence,
    significant: combined.low > 1 || combined.high < 1,
  };
}

/**
 * Jain's fairness index: 1 when every worker got the same share, 1/n when one got everything.
 * Returns null for no workers or no load at all.
 */
export function jainFairness(shares: readonly number[]): number | null {
  if (shares.length === 0) return null;
  let sum = 0;
  let squares = 0;
  for (const x of shares) {
    if (x < 0 || !Number.isFinite(x)) throw new RangeError(`fairness: invalid share ${x}`);
    sum += x;
    squares += x * x;
  }
  if (squares === 0) return null;
  return (sum * sum) / (shares.length * squares);
}

/** The busiest worker's share of the total (1/n when even, 1 when one took everything). */
export function busiestShare(shares: readonly number[]): number | null {
  let sum = 0;
  let top = 0;
  for (const x of shares) {
    if (x < 0 || !Number.isFinite(x)) throw new RangeError(`busiest share: invalid share ${x}`);
    sum += x;
    top = Math.max(top, x);
  }
  return sum === 0 ? null : top / sum;
}
