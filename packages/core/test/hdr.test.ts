import { readFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import {
  decodeHistogram,
  mergeEncodedHistograms,
  OPENLOOP_HISTOGRAM,
  percentileOfEncoded,
  spectrumLevels,
  spectrumOf,
} from '../src/hdr.ts';

interface Run {
  completed: number;
  latencyMicros: { max: number; p50: number; p75: number; p90: number; p99: number; p999: number };
  histogram: string;
}

// Histograms openloop wrote in real runs: a light load, a 1 s SIGSTOP stall, two threads, the
// connection limit reached, and a refused run with no response at all.
const runs = (
  JSON.parse(readFileSync(new URL('fixtures/hdr/openloop-runs.json', import.meta.url), 'utf8')) as {
    runs: Record<string, Run>;
  }
).runs;
const measured = Object.entries(runs).filter(([, r]) => r.completed > 0);

/** hdr-histogram-js decoding on its own, as the reference every figure is checked against. */
const reference = (encoded: string) => hdr.decodeFromCompressedBase64(encoded, 64, false);

describe('percentiles of an encoded histogram', () => {
  it.each(measured)('%s: equal the percentiles openloop printed and hdr-histogram-js computes', (_, run) => {
    const ref = reference(run.histogram);
    expect(ref.totalCount).toBe(run.completed);
    const printed: [number, number][] = [
      [50, run.latencyMicros.p50],
      [75, run.latencyMicros.p75],
      [90, run.latencyMicros.p90],
      [99, run.latencyMicros.p99],
      [99.9, run.latencyMicros.p999],
    ];
    for (const [percentile, value] of printed) {
      expect([percentile, percentileOfEncoded(run.histogram, percentile)]).toEqual([percentile, value]);
      expect(percentileOfEncoded(run.histogram, percentile)).toBe(ref.getValueAtPercentile(percentile));
    }
  });

  it.each(measured)(
    '%s: 100 is the maximum, at the top of its bucket (never below the true one)',
    (_, run) => {
      const max = percentileOfEncoded(run.histogram, 100)!;
      expect(max).toBe(reference(run.histogram).getValueAtPercentile(100));
      expect(max).toBeGreaterThanOrEqual(run.latencyMicros.max);
      expect((max - run.latencyMicros.max) / run.latencyMicros.max).toBeLessThan(1e-3);
    },
  );

  it('has no percentile without a response, and refuses a percentile outside 0..100', () => {
    expect(runs.refused!.completed).toBe(0);
    expect(percentileOfEncoded(runs.refused!.histogram, 99)).toBeNull();
    expect(() => percentileOfEncoded(runs['ok-2000-40']!.histogram, 100.5)).toThrow(RangeError);
    expect(() => percentileOfEncoded(runs['ok-2000-40']!.histogram, -1)).toThrow(RangeError);
  });
});

describe('the percentile spectrum', () => {
  it.each(measured)('%s: ascending in both, each point hdr-histogram-js own value', (_, run) => {
    const spectrum = spectrumOf(run.histogram);
    const ref = reference(run.histogram);
    expect(spectrum[0]!.percentile).toBe(0);
    expect(spectrum.at(-1)!.percentile).toBe(100);
    for (const [i, point] of spectrum.entries()) {
      expect(point.micros).toBe(ref.getValueAtPercentile(point.percentile));
      if (i === 0) continue;
      expect(point.percentile).toBeGreaterThan(spectrum[i - 1]!.percentile);
      expect(point.micros).toBeGreaterThanOrEqual(spectrum[i - 1]!.micros);
    }
  });

  it('reads the quoted levels, and no deeper into the tail than the count resolves', () => {
    // 4000 responses: 1 in 4000 is the last level that is not already the maximum.
    expect(spectrumOf(runs['ok-2000-40']!.histogram).map((p) => p.percentile)).toEqual([
      0, 50, 75, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.975, 100,
    ]);
    expect(spectrumLevels(1_000_000)).toEqual(expect.arrayContaining([99.99, 99.999, 99.99975, 99.9999]));
    expect(spectrumLevels(1_000_000)).not.toContain(99.99995);
    expect(spectrumLevels(1)).toEqual([0, 50, 75, 100]);
    const deepest = spectrumLevels(Number.MAX_SAFE_INTEGER);
    expect(deepest.length).toBeLessThanOrEqual(40);
    for (let i = 1; i < deepest.length; i++) expect(deepest[i]).toBeGreaterThan(deepest[i - 1]!);
    expect(spectrumOf(runs.refused!.histogram)).toEqual([]);
  });

  it('shows the stall: the 1 s SIGSTOP run is an order of magnitude above the light run from p90 up', () => {
    const at = (name: string, percentile: number) =>
      spectrumOf(runs[name]!.histogram).find((p) => p.percentile === percentile)!.micros;
    expect(at('stall-1s-1000', 99)).toBeGreaterThan(900_000);
    expect(at('stall-1s-1000', 90)).toBeGreaterThan(10 * at('ok-2000-40', 90));
  });
});

describe('merging encoded histograms', () => {
  it('adds real runs exactly, by bucket', () => {
    const names = ['ok-2000-40', 'stall-1s-1000', 'unchecked-2-threads'] as const;
    const merged = decodeHistogram(mergeEncodedHistograms(names.map((n) => runs[n]!.histogram)));
    const byHand = reference(runs[names[0]]!.histogram);
    for (const n of names.slice(1)) byHand.add(reference(runs[n]!.histogram));
    expect(merged.totalCount).toBe(names.reduce((total, n) => total + runs[n]!.completed, 0));
    expect(merged.highestTrackableValue).toBeGreaterThanOrEqual(OPENLOOP_HISTOGRAM.highestMicros);
    for (const percentile of spectrumLevels(merged.totalCount)) {
      expect([percentile, merged.getValueAtPercentile(percentile)]).toEqual([
        percentile,
        byHand.getValueAtPercentile(percentile),
      ]);
    }
  });
});
