/** The HdrHistogram code lives in core (summaries read it too); the driver's names stay as they were. */
export { decodeHistogram, histogramPairs, mergeEncodedHistograms, OPENLOOP_HISTOGRAM } from '@scaleup/core';
