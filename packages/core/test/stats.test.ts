import { describe, expect, it } from 'vitest';
import {
  bootstrapCI,
  jainFairness,
  mean,
  median,
  quantile,
  ratioEstimate,
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

describe('bootstrap', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const values = [10, 12, 9, 11, 14, 10, 13];
    const a = bootstrapCI(values, median, { seed: 1, resamples: 2000 });
    const b = bootstrapCI(values, median, { seed: 1, resamples: 2000 });
    expect(a).toEqual(b);
    expect(seededRandom(1)()).not.toBe(seededRandom(2)());
  });

  it('brackets the median and stays inside the sample range', () => {
    const values = [100, 104, 98, 101, 99, 103, 97, 102];
    const s = summarize(values);
    expect(s.ciLow).toBeLessThanOrEqual(s.median);
    expect(s.ciHigh).toBeGreaterThanOrEqual(s.median);
    expect(s.ciLow).toBeGreaterThanOrEqual(97);
    expect(s.ciHigh).toBeLessThanOrEqual(104);
    expect(s).toMatchObject({ n: 8, min: 97, max: 104, median: 100.5, mean: 100.5 });
    expect(s.cv).toBeCloseTo(s.stdev / 100.5, 12);
  });

  it('collapses to the value for a constant sample', () => {
    const s = summarize([5, 5, 5]);
    expect([s.ciLow, s.median, s.ciHigh, s.stdev, s.cv]).toEqual([5, 5, 5, 0, 0]);
  });
});

describe('ratios', () => {
  it('paired ratio is the median of per-round ratios', () => {
    const r = ratioEstimate([110, 120, 130], [100, 100, 100], { paired: true });
    expect(r.ratio).toBeCloseTo(1.2, 12);
    expect(r.paired).toBe(true);
    expect(r.ciLow).toBeGreaterThanOrEqual(1.1 - 1e-12);
    expect(r.ciHigh).toBeLessThanOrEqual(1.3 + 1e-12);
  });

  it('unpaired ratio is the ratio of medians', () => {
    const r = ratioEstimate([50, 60, 70], [100, 200, 300]);
    expect(r.ratio).toBeCloseTo(60 / 200, 12);
    expect(r.paired).toBe(false);
  });

  it('refuses a zero baseline and mismatched pairs', () => {
    expect(() => ratioEstimate([1], [0])).toThrow(/positive/);
    expect(() => ratioEstimate([1, 2], [1], { paired: true })).toThrow(/length/);
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
