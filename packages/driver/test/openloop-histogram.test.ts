import { execa } from 'execa';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { decodeHistogram, histogramPairs, mergeEncodedHistograms, OPENLOOP_HISTOGRAM } from '../src/hdr.ts';
import { histogramQuantile } from '../src/merge.ts';
import { OPENLOOP_BINARY } from '../src/openloop-build.ts';

interface Recorded {
  count: number;
  percentiles: [number, number][];
  histogram: string;
}

/** openloop's own histogram code (--record) over these microsecond values. */
async function recordInC(values: readonly number[]): Promise<Recorded> {
  const { stdout } = await execa(OPENLOOP_BINARY, ['--record'], { input: values.join('\n') });
  return JSON.parse(stdout) as Recorded;
}

/** The same values in hdr-histogram-js, with openloop's layout. */
function recordInJs(values: readonly number[]): hdr.Histogram {
  const histogram = hdr.build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: OPENLOOP_HISTOGRAM.lowestMicros,
    highestTrackableValue: OPENLOOP_HISTOGRAM.highestMicros,
    numberOfSignificantValueDigits: OPENLOOP_HISTOGRAM.significantDigits,
  });
  for (const v of values) histogram.recordValue(Math.min(v, OPENLOOP_HISTOGRAM.highestMicros));
  return histogram;
}

/** A deterministic spread of latencies: 1 us to 60 s, dense where real runs are, with a tail. */
function latencies(seed: number, n: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = next();
    // Log-uniform over 1 us .. 60 s, so every bucket size of the histogram is exercised.
    values.push(Math.max(1, Math.floor(Math.exp(r * Math.log(OPENLOOP_HISTOGRAM.highestMicros)))));
  }
  // Edges: 0 and 1, the last value of the linear range, the highest trackable value.
  values.push(0, 1, 2047, 2048, 2049, OPENLOOP_HISTOGRAM.highestMicros);
  return values;
}

function countsOf(histogram: hdr.JsHistogram): number[] {
  return Array.from({ length: histogram.countsArrayLength }, (_, i) => histogram.getCountAtIndex(i));
}

describe('openloop histogram encoding', () => {
  it('decodes with hdr-histogram-js to exactly the counts hdr-histogram-js records', async () => {
    const values = latencies(7, 20_000);
    const fromC = await recordInC(values);
    expect(fromC.histogram.startsWith('HISTFAAA')).toBe(true);
    const decoded = decodeHistogram(fromC.histogram);
    const reference = recordInJs(values) as hdr.JsHistogram;
    expect(decoded.totalCount).toBe(values.length);
    expect(decoded.highestTrackableValue).toBe(OPENLOOP_HISTOGRAM.highestMicros);
    expect(decoded.numberOfSignificantValueDigits).toBe(3);
    expect(countsOf(decoded)).toEqual(countsOf(reference));
  });

  it('prints the percentiles hdr-histogram-js computes from the same values', async () => {
    const values = latencies(11, 5_000);
    const fromC = await recordInC(values);
    const reference = recordInJs(values);
    for (const [percentile, value] of fromC.percentiles) {
      expect([percentile, value]).toEqual([percentile, reference.getValueAtPercentile(percentile)]);
    }
    // And the pairs the driver merges give the same nearest-rank quantiles.
    const pairs = histogramPairs(decodeHistogram(fromC.histogram));
    for (const [percentile, value] of fromC.percentiles.filter(([p]) => p > 0)) {
      expect(histogramQuantile(pairs, percentile / 100)).toBe(value);
    }
  });

  it('keeps 3 significant digits from 1 us to 60 s', async () => {
    const values = [1, 999, 1_234, 98_765, 1_234_567, 59_999_999];
    const fromC = await recordInC(values);
    const pairs = histogramPairs(decodeHistogram(fromC.histogram));
    expect(pairs.map(([v]) => v)).toHaveLength(values.length);
    for (const [i, [reported]] of pairs.entries()) {
      const actual = values[i]!;
      expect(reported).toBeGreaterThanOrEqual(actual);
      expect((reported - actual) / actual).toBeLessThan(1e-3);
    }
  });

  it('merges two encodings exactly: the sum of the parts is the histogram of the whole', async () => {
    const a = latencies(3, 8_000);
    const b = latencies(5, 12_000).map((v) => Math.min(v * 3, OPENLOOP_HISTOGRAM.highestMicros));
    const [partA, partB, whole] = await Promise.all([recordInC(a), recordInC(b), recordInC([...a, ...b])]);
    const merged = decodeHistogram(partA.histogram);
    merged.add(decodeHistogram(partB.histogram));
    expect(countsOf(merged)).toEqual(countsOf(decodeHistogram(whole.histogram)));
    const viaDriver = decodeHistogram(mergeEncodedHistograms([partA.histogram, partB.histogram]));
    expect(viaDriver.totalCount).toBe(a.length + b.length);
    for (const [percentile, value] of whole.percentiles) {
      expect(viaDriver.getValueAtPercentile(percentile)).toBe(value);
    }
  });

  it('encodes an empty histogram that still decodes', async () => {
    const fromC = await recordInC([]);
    expect(fromC.count).toBe(0);
    expect(decodeHistogram(fromC.histogram).totalCount).toBe(0);
  });
});
