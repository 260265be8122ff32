import * as hdr from 'hdr-histogram-js';

/** What openloop records into: 1 us to 60 s at 3 significant digits (HdrHistogram's layout). */
export const OPENLOOP_HISTOGRAM = {
  lowestMicros: 1,
  highestMicros: 60_000_000,
  significantDigits: 3,
} as const;

/**
 * A histogram from HdrHistogram's V2 compressed encoding (base64, "HISTFAAA..."), as openloop,
 * HdrHistogram and hdr-histogram-js write it. 64-bit counts: a long run never overflows a bucket.
 * Throws on text that is not such an encoding.
 */
export function decodeHistogram(encoded: string): hdr.JsHistogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false) as hdr.JsHistogram;
}

/**
 * The distribution as [microseconds, count] pairs, ascending: each bucket at the highest value
 * it holds, which is what HdrHistogram reports for a percentile, so nearest-rank quantiles of the
 * pairs (merge.ts) equal the histogram's own.
 */
export function histogramPairs(histogram: hdr.JsHistogram): [number, number][] {
  const pairs: [number, number][] = [];
  for (let index = 0; index < histogram.countsArrayLength; index++) {
    const count = histogram.getCountAtIndex(index);
    if (count > 0) pairs.push([histogram.highestEquivalentValue(histogram.valueFromIndex(index)), count]);
  }
  return pairs;
}

/** Several encoded histograms (threads, hosts, repetitions) added into one: exact, by bucket. */
export function mergeEncodedHistograms(encoded: readonly string[]): string {
  const merged = hdr.build({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: OPENLOOP_HISTOGRAM.lowestMicros,
    highestTrackableValue: OPENLOOP_HISTOGRAM.highestMicros,
    numberOfSignificantValueDigits: OPENLOOP_HISTOGRAM.significantDigits,
  });
  for (const text of encoded) merged.add(decodeHistogram(text));
  return hdr.encodeIntoCompressedBase64(merged);
}
