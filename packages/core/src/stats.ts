/**
 * Pure statistics for benchmark repetitions. No I/O, no clock, no global randomness: bootstrap
 * resampling uses a seeded generator so the same inputs always give the same intervals.
 */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  stdev: number;
  /** Coefficient of variation: stdev / mean (0 when the mean is 0). */
  cv: number;
  /** Bootstrap confidence interval of the median. */
  ciLow: number;
  ciHigh: number;
  confidence: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function assertNonEmpty(values: readonly number[], what: string): void {
  if (values.length === 0) throw new RangeError(`${what} of an empty sample`);
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`${what}: non-finite value ${v}`);
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

/** mulberry32: a small, fast, seedable generator; quality is ample for resampling. */
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

export interface BootstrapOptions {
  resamples?: number;
  confidence?: number;
  seed?: number;
}

/**
 * Percentile-bootstrap confidence interval of `statistic` over `values`. With one value the
 * interval collapses to that value: there is no spread to resample.
 */
export function bootstrapCI(
  values: readonly number[],
  statistic: (sample: readonly number[]) => number,
  options: BootstrapOptions = {},
): { low: number; high: number; confidence: number } {
  assertNonEmpty(values, 'bootstrap');
  const resamples = options.resamples ?? 10_000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed ?? 0x5ca1e);
  const n = values.length;
  const estimates = new Array<number>(resamples);
  const sample = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = values[Math.floor(random() * n)]!;
    estimates[r] = statistic(sample);
  }
  const alpha = (1 - confidence) / 2;
  return { low: quantile(estimates, alpha), high: quantile(estimates, 1 - alpha), confidence };
}

/** Median, spread and a bootstrap CI of the median: the shape every reported figure takes. */
export function summarize(values: readonly number[], options: BootstrapOptions = {}): Summary {
  assertNonEmpty(values, 'summary');
  const m = mean(values);
  const sd = stdev(values);
  const ci = bootstrapCI(values, median, options);
  const s = sorted(values);
  return {
    n: values.length,
    median: median(values),
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: m,
    stdev: sd,
    cv: m === 0 ? 0 : sd / m,
    ciLow: ci.low,
    ciHigh: ci.high,
    confidence: ci.confidence,
  };
}

export interface RatioEstimate {
  /** Median of the pairwise ratios when paired, else the ratio of the medians. */
  ratio: number;
  ciLow: number;
  ciHigh: number;
  confidence: number;
  /** Paired: numerator and denominator measured in the same interleaved round. */
  paired: boolean;
  n: number;
}

/**
 * Ratio of a server's throughput to the baseline's. Pairs measured in the same round share the
 * machine's drift, so their ratios are bootstrapped directly; otherwise the two samples are
 * resampled independently and the ratio of medians bootstrapped.
 */
export function ratioEstimate(
  numerator: readonly number[],
  denominator: readonly number[],
  options: BootstrapOptions & { paired?: boolean } = {},
): RatioEstimate {
  assertNonEmpty(numerator, 'ratio numerator');
  assertNonEmpty(denominator, 'ratio denominator');
  if (denominator.some((d) => d <= 0)) throw new RangeError('ratio: denominator must be positive');
  const confidence = options.confidence ?? 0.95;
  if (options.paired) {
    if (numerator.length !== denominator.length)
      throw new RangeError('paired ratio: samples differ in length');
    const ratios = numerator.map((x, i) => x / denominator[i]!);
    const ci = bootstrapCI(ratios, median, options);
    return {
      ratio: median(ratios),
      ciLow: ci.low,
      ciHigh: ci.high,
      confidence,
      paired: true,
      n: ratios.length,
    };
  }
  const resamples = options.resamples ?? 10_000;
  const random = seededRandom(options.seed ?? 0x5ca1e);
  const estimates = new Array<number>(resamples);
  const resample = (values: readonly number[]) =>
    Array.from({ length: values.length }, () => values[Math.floor(random() * values.length)]!);
  for (let r = 0; r < resamples; r++)
    estimates[r] = median(resample(numerator)) / median(resample(denominator));
  const alpha = (1 - confidence) / 2;
  return {
    ratio: median(numerator) / median(denominator),
    ciLow: quantile(estimates, alpha),
    ciHigh: quantile(estimates, 1 - alpha),
    confidence,
    paired: false,
    n: Math.min(numerator.length, denominator.length),
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
