import * as hdr from 'hdr-histogram-js';

/**
 * HdrHistogram's standard compressed encoding, read and added up here in core: the load tool
 * writes it (driver), the summaries read percentiles and spectra from it (latency-curves.ts). All
 * pure: decoding and merging touch no file, clock or global state.
 */

/** What openloop records into: 1 us to 60 s at 3 significant digits (HdrHistogram's layout). */
export const OPENLOOP_HISTOGRAM = {
  lowestMicros: 1,
  highestMicros: 60_000_000,
  significantDigits: 3,
} as const;

/** A decoded histogram, as hdr-histogram-js gives it. */
export type DecodedHistogram = hdr.JsHistogram;

/**
 * A histogram from HdrHistogram's V2 compressed encoding (base64, "HISTFAAA..."), as openloop,
 * HdrHistogram and hdr-histogram-js write it. 64-bit counts: a long run never overflows a bucket.
 * Throws on text that is not such an encoding.
 */
export function decodeHistogram(encoded: string): DecodedHistogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false) as DecodedHistogram;
}

/**
 * The distribution as [microseconds, count] pairs, ascending: each bucket at the highest value
 * it holds, which is what HdrHistogram reports for a percentile, so nearest-rank quantiles of the
 * pairs (driver's merge.ts) equal the histogram's own.
 */
export function histogramPairs(histogram: DecodedHistogram): [number, number][] {
  const pairs: [number, number][] = [];
  for (let index = 0; index < histogram.countsArrayLength; index++) {
    const count = histogram.getCountAtIndex(index);
    if (count > 0) pairs.push([histogram.highestEquivalentValue(histogram.valueFromIndex(index)), count]);
  }
  return pairs;
}

/** Decoded histograms added into a fresh one (the inputs are left alone): exact, by bucket. */
export function addHistograms(histograms: readonly DecodedHistogram[]): DecodedHistogram {
  const merged = hdr.build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: OPENLOOP_HISTOGRAM.lowestMicros,
    highestTrackableValue: OPENLOOP_HISTOGRAM.highestMicros,
    numberOfSignificantValueDigits: OPENLOOP_HISTOGRAM.significantDigits,
  }) as DecodedHistogram;
  for (const histogram of histograms) merged.add(histogram);
  return merged;
}

/** Several encoded histograms (threads, hosts, repetitions) added into one: exact, by bucket. */
export function mergeEncodedHistograms(encoded: readonly string[]): string {
  return hdr.encodeIntoCompressedBase64(addHistograms(encoded.map(decodeHistogram)));
}

/**
 * The value at `percentile` (0..100; 100 is the maximum) as HdrHistogram reports it: the highest
 * value of the bucket holding that rank, so a bound checked against it is never flattered. Null
 * for an empty histogram, which has no percentiles.
 */
export function percentileOf(histogram: DecodedHistogram, percentile: number): number | null {
  if (!(percentile >= 0 && percentile <= 100))
    throw new RangeError(`percentile ${percentile} outside [0, 100]`);
  return histogram.totalCount === 0 ? null : histogram.getValueAtPercentile(percentile);
}

/** percentileOf an encoded histogram. */
export function percentileOfEncoded(encoded: string, percentile: number): number | null {
  return percentileOf(decodeHistogram(encoded), percentile);
}

/** One point of a percentile spectrum: latency at this percentile. */
export interface SpectrumPoint {
  percentile: number;
  micros: number;
}

/**
 * Per decade of 1/(1-p) (10, 100, 1000, ...), the tail shares the spectrum is read at: 1/(1-p)
 * = 1, 2, 4 times the decade, evenly spaced on the log axis HdrHistogram plots against, and
 * landing on the levels people quote (90, 95, 99, 99.5, 99.9, ...).
 */
const TAIL_STEPS = [1, 0.5, 0.25] as const;
/** Twelve decades reach 1 in 4 * 10^12 responses, beyond any run; with 0, 50, 75 and 100, at most 40 points. */
const MAX_DECADES = 12;

/**
 * The percentile levels worth reading from `count` latencies: 0, 50, 75, then 90, 95, 97.5, 99,
 * 99.5, 99.75, 99.9 and so on while the tail above the level still holds at least one response
 * (beyond that every level reads the maximum), then 100.
 */
export function spectrumLevels(count: number): number[] {
  const levels = [0, 50, 75];
  for (let decade = 1; decade <= MAX_DECADES; decade++) {
    for (const step of TAIL_STEPS) {
      const tail = step * 10 ** -decade;
      if (tail * count < 1) return [...levels, 100];
      // Rounded to the decade's digits, so 99.9 is 99.9 and not 99.90000000000001.
      levels.push(Number((100 * (1 - tail)).toFixed(decade + 1)));
    }
  }
  return [...levels, 100];
}

/**
 * Latency against percentile, as HdrHistogram's percentile distribution plots it (log axis of
 * 1/(1-p)); ascending in both. Empty for an empty histogram.
 */
export function spectrumOfHistogram(histogram: DecodedHistogram): SpectrumPoint[] {
  if (histogram.totalCount === 0) return [];
  return spectrumLevels(histogram.totalCount).map((percentile) => ({
    percentile,
    micros: histogram.getValueAtPercentile(percentile),
  }));
}

/** spectrumOfHistogram of an encoded histogram. */
export function spectrumOf(encoded: string): SpectrumPoint[] {
  return spectrumOfHistogram(decodeHistogram(encoded));
}
