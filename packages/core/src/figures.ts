import type { LatencySummary, Ratio, Repetition, ScenarioResult, StatSummary } from './results-schema.ts';
import { DEFAULT_CONFIDENCE, type RatioEstimate, summarize } from './stats.ts';

/**
 * The figures summaries are made of, and where a result's baseline is: shared by the per-result
 * summaries (summary.ts) and the latency curves (latency-curves.ts), which summary.ts derives,
 * so kept apart and neither imports the other's module back.
 */

export function validRepetitions(reps: readonly Repetition[]): Repetition[] {
  return reps.filter((r) => r.verdict.valid);
}

export function statOf(values: number[], confidence: number): StatSummary | null {
  return values.length === 0 ? null : summarize(values, confidence);
}

export function ratioRecord(estimate: RatioEstimate | null, baselineId: string): Ratio | null {
  if (estimate === null) return null;
  return {
    baseline: baselineId,
    ratio: estimate.ratio,
    ciLow: estimate.ciLow,
    ciHigh: estimate.ciHigh,
    confidence: estimate.confidence,
    confidenceTarget: estimate.confidenceTarget,
    statistic: estimate.statistic,
    paired: estimate.paired,
    n: estimate.n,
  };
}

/** Median over repetitions of each percentile, with its spread: never an average of percentiles. */
export function latencySummary(
  reps: readonly Repetition[],
  confidence = DEFAULT_CONFIDENCE,
): LatencySummary | null {
  const valid = validRepetitions(reps);
  const pick = (key: 'p50Micros' | 'p90Micros' | 'p99Micros' | 'p999Micros' | 'maxMicros') =>
    statOf(
      valid.flatMap((r) => {
        const v = r.load.latency[key];
        return v === null ? [] : [v];
      }),
      confidence,
    );
  const summary: LatencySummary = {
    p50Micros: pick('p50Micros'),
    p90Micros: pick('p90Micros'),
    p99Micros: pick('p99Micros'),
    p999Micros: pick('p999Micros'),
    maxMicros: pick('maxMicros'),
    upperBound: valid.some((r) => r.load.latency.merge === 'upper-bound'),
  };
  const any = summary.p50Micros ?? summary.p90Micros ?? summary.p99Micros ?? summary.p999Micros;
  return any === null ? null : summary;
}

/**
 * Same group, same point except for the server: that is where a scenario's baseline is. The seed
 * gave nginx fewer connections than the servers, so when no baseline has this result's connection
 * count the one baseline at these workers and CPUs is the yardstick.
 */
export function baselineFor(
  result: ScenarioResult,
  results: readonly ScenarioResult[],
): ScenarioResult | null {
  if (result.baseline) return null;
  const candidates = results.filter(
    (b) =>
      b.baseline &&
      b.group === result.group &&
      b.point.workers === result.point.workers &&
      sameCpus(b.point.serverCpus, result.point.serverCpus),
  );
  return (
    candidates.find((b) => b.point.connections === result.point.connections) ??
    (candidates.length === 1 ? candidates[0]! : null)
  );
}

function sameCpus(a: readonly number[] | null, b: readonly number[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((cpu, i) => cpu === b[i]);
}
