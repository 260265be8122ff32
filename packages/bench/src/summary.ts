import {
  jainFairness,
  median,
  type Ratio,
  type Repetition,
  ratioEstimate,
  type ScenarioResult,
  type StatSummary,
  summarize,
} from '@scaleup/core';

/** Below this many paired rounds the ratio falls back to resampling each side independently. */
const MIN_PAIRS = 3;

function validRepetitions(reps: readonly Repetition[]): Repetition[] {
  return reps.filter((r) => r.verdict.valid);
}

function statOf(values: number[]): StatSummary | null {
  return values.length === 0 ? null : summarize(values);
}

/**
 * Ratio of a scenario's req/s to its baseline's. Rounds in which both were valid are paired
 * (they ran back to back and share the machine's drift); otherwise all valid reps are used.
 */
export function ratioToBaseline(
  reps: readonly Repetition[],
  baselineReps: readonly Repetition[],
  baselineId: string,
): Ratio | null {
  const mine = validRepetitions(reps);
  const theirs = validRepetitions(baselineReps);
  if (mine.length === 0 || theirs.length === 0) return null;
  const theirsByRound = new Map(theirs.map((r) => [r.round, r.load.requestsPerSecond]));
  const pairs = mine
    .filter((r) => theirsByRound.has(r.round) && theirsByRound.get(r.round)! > 0)
    .map((r) => [r.load.requestsPerSecond, theirsByRound.get(r.round)!] as const);
  const estimate =
    pairs.length >= MIN_PAIRS
      ? ratioEstimate(
          pairs.map((p) => p[0]),
          pairs.map((p) => p[1]),
          { paired: true },
        )
      : theirs.some((r) => r.load.requestsPerSecond <= 0)
        ? null
        : ratioEstimate(
            mine.map((r) => r.load.requestsPerSecond),
            theirs.map((r) => r.load.requestsPerSecond),
          );
  if (estimate === null) return null;
  return {
    baseline: baselineId,
    ratio: estimate.ratio,
    ciLow: estimate.ciLow,
    ciHigh: estimate.ciHigh,
    confidence: estimate.confidence,
    paired: estimate.paired,
    n: estimate.n,
  };
}

/** Pure: the summary block of one scenario from its repetitions (and its baseline's). */
export function summarizeScenario(
  reps: readonly Repetition[],
  baseline: { id: string; repetitions: readonly Repetition[] } | null,
): NonNullable<ScenarioResult['summary']> {
  const valid = validRepetitions(reps);
  const fairness = (pick: (w: { requests: number; connections: number }) => number) => {
    const indices = valid
      .map((r) => (r.workers === null ? null : jainFairness(r.workers.map(pick))))
      .filter((x): x is number => x !== null);
    return indices.length === 0 ? null : median(indices);
  };
  return {
    validRepetitions: valid.length,
    invalidRepetitions: reps.length - valid.length,
    clientBoundRepetitions: reps.filter((r) => r.verdict.clientBound).length,
    requestsPerSecond: statOf(valid.map((r) => r.load.requestsPerSecond)),
    megabytesPerSecond: statOf(valid.map((r) => r.load.megabytesPerSecond)),
    ratioToBaseline: baseline === null ? null : ratioToBaseline(reps, baseline.repetitions, baseline.id),
    fairnessRequests: fairness((w) => w.requests),
    fairnessConnections: fairness((w) => w.connections),
  };
}
