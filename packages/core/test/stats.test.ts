import { describe, expect, it } from 'vitest';
import {
  binomialHalfCdf,
  busiestShare,
  changeBetween,
  jainFairness,
  mean,
  median,
  medianInterval,
  minimumRepetitionsFor,
  quantile,
  rankIntervalCoverage,
  ratioEstimate,
  relativeHalfWidth,
  seededRandom,
  stdev,
  summarize,
} from '../src/stats.ts';

describe('descriptive statistics (hand-computed vectors)', () => {
  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('quantile interpolates between ranks like R type 7', () => {
    // sorted 10,20,30,40,50: position (5-1)*0.9 = 3.6 -> 40 + 0.6*10
    expect(quantile([50, 10, 40, 20, 30], 0.9)).toBeCloseTo(46, 10);
    expect(quantile([50, 10, 40, 20, 30], 0)).toBe(10);
    expect(quantile([50, 10, 40, 20, 30], 1)).toBe(50);
  });

  it('mean and sample stdev', () => {
    // 2,4,4,4,5,5,7,9: mean 5, squares sum 32, sample variance 32/7
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(stdev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stdev([5])).toBe(0);
  });

  it('refuses empty and non-finite samples', () => {
    expect(() => median([])).toThrow(/empty/);
    expect(() => mean([1, Number.NaN])).toThrow(/non-finite/);
    expect(() => quantile([1], 1.5)).toThrow(/outside/);
  });
});

describe('order-statistic intervals of the median', () => {
  it('binomial tail probabilities, hand-computed', () => {
    // P(B <= 1) at n = 7: (1 + 7) / 128
    expect(binomialHalfCdf(1, 7)).toBeCloseTo(8 / 128, 14);
    expect(binomialHalfCdf(-1, 7)).toBe(0);
    expect(binomialHalfCdf(7, 7)).toBe(1);
    // n = 15, k = 3: (1 + 15 + 105 + 455) / 32768
    expect(binomialHalfCdf(3, 15)).toBeCloseTo(576 / 32768, 14);
  });

  it('reports the confidence min..max really has when n is too small for 95%', () => {
    expect(medianInterval([3, 1, 2])).toMatchObject({
      low: 1,
      high: 3,
      confidence: 0.75,
      lowRank: 1,
      highRank: 3,
    });
    expect(medianInterval([1, 2])).toMatchObject({ low: 1, high: 2, confidence: 0.5 });
    expect(medianInterval([4])).toMatchObject({ low: 4, high: 4, confidence: 0 });
    expect(minimumRepetitionsFor(0.95)).toBe(6);
    expect(rankIntervalCoverage(1, 6)).toBeCloseTo(1 - 2 / 64, 14);
  });

  it('takes the narrowest symmetric ranks that still reach the level', () => {
    const seven = [10, 20, 30, 40, 50, 60, 70];
    // k = 2 would cover only 1 - 2 * 8/128 = 87.5%: 95% needs min..max at n = 7.
    expect(medianInterval(seven)).toMatchObject({ low: 10, high: 70, lowRank: 1 });
    expect(medianInterval(seven).confidence).toBeCloseTo(1 - 2 / 128, 14);
    const fifteen = Array.from({ length: 15 }, (_, i) => i + 1);
    const at15 = medianInterval(fifteen);
    expect([at15.low, at15.high]).toEqual([4, 12]);
    expect(at15.confidence).toBeCloseTo(1 - 2 * (576 / 32768), 12);
    expect(at15.confidence).toBeGreaterThanOrEqual(0.95);
    expect(medianInterval(fifteen, 0.5).lowRank).toBeGreaterThan(at15.lowRank);
  });

  it('covers the true median at least as often as it claims, on skewed data (simulation)', () => {
    const random = seededRandom(42);
    // Log-normal-ish: exp of a sum of uniforms, true median e^0 = 1 by symmetry of the sum.
    const draw = () => Math.exp((random() + random() + random() - 1.5) * 0.6);
    for (const n of [3, 5, 7, 11, 15]) {
      let covered = 0;
      let claimed = 0;
      const trials = 4000;
      for (let t = 0; t < trials; t++) {
        const sample = Array.from({ length: n }, draw);
        const interval = medianInterval(sample);
        claimed = interval.confidence;
        if (interval.low <= 1 && interval.high >= 1) covered++;
      }
      // Three standard errors of slack for the simulation itself.
      expect(covered / trials).toBeGreaterThanOrEqual(
        claimed - 3 * Math.sqrt((claimed * (1 - claimed)) / trials),
      );
    }
  });

  it('summaries carry the interval, the reached and the requested confidence', () => {
    const values = [100, 104, 98, 101, 99, 103, 97, 102];
    const s = summarize(values);
    expect(s).toMatchObject({ n: 8, min: 97, max: 104, median: 100.5, mean: 100.5, confidenceTarget: 0.95 });
    // n = 8: k = 2 reaches 1 - 2 * 9/256 = 92.97% < 95%, so min..max at 99.2%.
    expect([s.ciLow, s.ciHigh]).toEqual([97, 104]);
    expect(s.confidence).toBeCloseTo(1 - 2 / 256, 12);
    expect(s.cv).toBeCloseTo(s.stdev / 100.5, 12);
  });

  it('collapses to the value for a constant sample', () => {
    const s = summarize([5, 5, 5]);
    expect([s.ciLow, s.median, s.ciHigh, s.stdev, s.cv]).toEqual([5, 5, 5, 0, 0]);
    expect(s.confidence).toBe(0.75);
  });
});

describe('ratios', () => {
  it('paired ratio is the median of per-round ratios with their rank interval', () => {
    const r = ratioEstimate([110, 120, 130], [100, 100, 100], { paired: true });
    expect(r.ratio).toBeCloseTo(1.2, 12);
    expect(r).toMatchObject({ paired: true, statistic: 'median-of-paired-ratios', confidence: 0.75, n: 3 });
    expect(r.ciLow).toBeCloseTo(1.1, 12);
    expect(r.ciHigh).toBeCloseTo(1.3, 12);
  });

  it('unpaired ratio is the ratio of medians, with a Bonferroni interval and its lower-bound confidence', () => {
    const r = ratioEstimate([50, 60, 70, 55, 65, 58, 62], [100, 200, 300, 150, 250, 180, 220]);
    expect(r.ratio).toBeCloseTo(60 / 200, 12);
    expect(r).toMatchObject({ paired: false, statistic: 'ratio-of-medians' });
    // Each side: min..max at n = 7 (98.4%), so both hold with at least 96.9%.
    expect(r.ciLow).toBeCloseTo(50 / 300, 12);
    expect(r.ciHigh).toBeCloseTo(70 / 100, 12);
    expect(r.confidence).toBeCloseTo(2 * (1 - 2 / 128) - 1, 12);
  });

  it('refuses a zero baseline and mismatched pairs', () => {
    expect(() => ratioEstimate([1], [0])).toThrow(/positive/);
    expect(() => ratioEstimate([1, 2], [1], { paired: true })).toThrow(/length/);
  });

  it('says "no change" when two runs\' ratios are within the noise, and how much otherwise', () => {
    const a = [1.1, 1.12, 1.15, 1.11, 1.13, 1.14, 1.12, 1.1, 1.16, 1.12, 1.13];
    const same = changeBetween(
      a,
      a.map((x) => x * 1.01),
    );
    expect(same.significant).toBe(false);
    const faster = changeBetween(
      a,
      a.map((x) => x * 1.3),
    );
    expect(faster.significant).toBe(true);
    expect(faster.ratio).toBeCloseTo(1.3, 12);
    expect(faster.ciLow).toBeGreaterThan(1);
    expect(faster.confidence).toBeGreaterThanOrEqual(0.95);
  });

  it('relative half-width and the busiest share', () => {
    expect(relativeHalfWidth({ ciLow: 0.95, ciHigh: 1.05 }, 1)).toBeCloseTo(0.05, 12);
    expect(busiestShare([1, 3])).toBe(0.75);
    expect(busiestShare([0, 0])).toBeNull();
  });
});

describe('Jain fairness index', () => {
  it('is 1 for equal shares and 1/n when one worker takes all', () => {
    expect(jainFairness([5, 5, 5, 5])).toBe(1);
    expect(jainFairness([8, 0, 0, 0])).toBe(0.25);
    // (1+3)^2 / (2 * (1+9)) = 16/20
    expect(jainFairness([1, 3])).toBeCloseTo(0.8, 12);
  });

  it('is null with no workers or no load', () => {
    expect(jainFairness([])).toBeNull();
    expect(jainFairness([0, 0])).toBeNull();
  });
});
