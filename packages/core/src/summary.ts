import { baselineFor, latencySummary, ratioRecord, statOf, validRepetitions } from './figures.ts';
import { latencyCurves } from './latency-curves.ts';
import type {
  Estimate,
  Ratio,
  Repetition,
  ResultsFile,
  ScalingCurve,
  ScenarioResult,
  ScenarioSummary,
} from './results-schema.ts';
import {
  busiestShare,
  DEFAULT_CONFIDENCE,
  jainFairness,
  median,
  type RatioEstimate,
  ratioEstimate,
} from './stats.ts';

export { baselineFor, latencySummary } from './figures.ts';

/**
 * Summaries are pure functions of the repetitions: the runner recomputes them after every
 * repetition, and a reader of an older results.json recomputes them with today's statistics.
 */

/**
 * Below this many paired rounds a ratio falls back to the ratio of medians. Pairs are preferred
 * whenever most rounds pair up: a ratio within a round cancels the machine's drift, which a
 * ratio of medians over different rounds does not.
 */
export const MIN_PAIRS = 2;
/** Above this share of its cores the load tool is saturated. */
export const TOOL_SATURATED = 0.9;

/**
 * A ratio of throughputs from two sets of repetitions: paired by round where at least MIN_PAIRS
 * rounds, and at least half of them, have both sides valid (they ran back to back and share the
 * machine's drift), else the ratio of medians of all valid repetitions. Null when either side
 * has nothing valid.
 */
export function pairedRatio(
  reps: readonly Repetition[],
  baselineReps: readonly Repetition[],
  confidence = DEFAULT_CONFIDENCE,
): RatioEstimate | null {
  return pairedRatioOf(reps, baselineReps, (r) => r.load.requestsPerSecond, confidence);
}

/**
 * The ratio of one figure of valid repetitions (numerator side over denominator side), paired by
 * round as pairedRatio explains. A repetition whose figure is null takes no part, on either side:
 * a round pairs only when both have it.
 */
export function pairedRatioOf(
  numeratorReps: readonly Repetition[],
  denominatorReps: readonly Repetition[],
  pick: (rep: Repetition) => number | null,
  confidence = DEFAULT_CONFIDENCE,
): RatioEstimate | null {
  const figures = (reps: readonly Repetition[]) =>
    validRepetitions(reps).flatMap((r) => {
      const value = pick(r);
      return value === null ? [] : [{ round: r.round, value }];
    });
  const mine = figures(numeratorReps);
  const theirs = figures(denominatorReps).filter((f) => f.value > 0);
  if (mine.length === 0 || theirs.length === 0) return null;
  const theirsByRound = new Map(theirs.map((f) => [f.round, f.value]));
  const pairs = mine
    .filter((f) => theirsByRound.has(f.round))
    .map((f) => [f.value, theirsByRound.get(f.round)!] as const);
  if (pairs.length >= MIN_PAIRS && pairs.length * 2 >= Math.min(mine.length, theirs.length)) {
    return ratioEstimate(
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
      { paired: true, confidence },
    );
  }
  return ratioEstimate(
    mine.map((f) => f.value),
    theirs.map((f) => f.value),
    { confidence },
  );
}

/** The per-round ratios a paired ratio is the median of (for comparisons between runs). */
export function roundRatios(reps: readonly Repetition[], baselineReps: readonly Repetition[]): number[] {
  const theirs = new Map(
    validRepetitions(baselineReps)
      .filter((r) => r.load.requestsPerSecond > 0)
      .map((r) => [r.round, r.load.requestsPerSecond]),
  );
  return validRepetitions(reps)
    .filter((r) => theirs.has(r.round))
    .map((r) => r.load.requestsPerSecond / theirs.get(r.round)!);
}

export function ratioToBaseline(
  reps: readonly Repetition[],
  baselineReps: readonly Repetition[],
  baselineId: string,
  confidence = DEFAULT_CONFIDENCE,
): Ratio | null {
  return ratioRecord(pairedRatio(reps, baselineReps, confidence), baselineId);
}

const serverCpuPerResponse = (r: Repetition): number | null => r.cost?.serverCpuMicrosPerResponse ?? null;

/**
 * How many times cheaper per response this scenario's server is than the baseline: the
 * baseline's server CPU per response over this one's, paired by round like ratioToBaseline.
 */
export function efficiencyToBaseline(
  reps: readonly Repetition[],
  baselineReps: readonly Repetition[],
  baselineId: string,
  confidence = DEFAULT_CONFIDENCE,
): Ratio | null {
  return ratioRecord(pairedRatioOf(baselineReps, reps, serverCpuPerResponse, confidence), baselineId);
}

export function toolSaturated(rep: Repetition): boolean {
  return (rep.load.toolCpu?.utilisation ?? 0) >= TOOL_SATURATED;
}

/** Pure: the summary block of one scenario result from its repetitions (and its baseline's). */
export function summarizeScenario(
  reps: readonly Repetition[],
  baseline: { id: string; repetitions: readonly Repetition[] } | null,
  confidence = DEFAULT_CONFIDENCE,
): ScenarioSummary {
  const valid = validRepetitions(reps);
  const perRepetition = (
    index: (shares: number[]) => number | null,
    pick: (w: { requests: number; connections: number }) => number,
  ) => {
    const values = valid
      .map((r) => (r.workers === null || r.workers.length === 0 ? null : index(r.workers.map(pick))))
      .filter((x): x is number => x !== null);
    return values.length === 0 ? null : median(values);
  };
  const saturated = reps.filter(toolSaturated).length;
  return {
    validRepetitions: valid.length,
    invalidRepetitions: reps.length - valid.length,
    clientBoundRepetitions: reps.filter((r) => r.verdict.clientBound).length,
    toolSaturatedRepetitions: saturated,
    lowerBound: reps.length > 0 && saturated * 2 > reps.length,
    requestsPerSecond: statOf(
      valid.map((r) => r.load.requestsPerSecond),
      confidence,
    ),
    megabytesPerSecond: statOf(
      valid.map((r) => r.load.megabytesPerSecond),
      confidence,
    ),
    ratioToBaseline:
      baseline === null ? null : ratioToBaseline(reps, baseline.repetitions, baseline.id, confidence),
    ...costSummary(reps, baseline, confidence),
    latency: latencySummary(reps, confidence),
    fairnessRequests: perRepetition(jainFairness, (w) => w.requests),
    fairnessConnections: perRepetition(jainFairness, (w) => w.connections),
    busiestShareRequests: perRepetition(busiestShare, (w) => w.requests),
    busiestShareConnections: perRepetition(busiestShare, (w) => w.connections),
  };
}

/**
 * The cost figures of a summary. Absent when no repetition recorded a cost (results written
 * before costs existed keep their exact shape); null when recorded but never measurable.
 */
export function costSummary(
  reps: readonly Repetition[],
  baseline: { id: string; repetitions: readonly Repetition[] } | null,
  confidence = DEFAULT_CONFIDENCE,
): Pick<ScenarioSummary, 'serverCpuMicrosPerResponse' | 'efficiencyToBaseline'> {
  if (!reps.some((r) => r.cost !== undefined)) return {};
  const values = validRepetitions(reps).flatMap((r) => {
    const v = serverCpuPerResponse(r);
    return v === null ? [] : [v];
  });
  return {
    serverCpuMicrosPerResponse: statOf(values, confidence),
    efficiencyToBaseline:
      baseline === null ? null : efficiencyToBaseline(reps, baseline.repetitions, baseline.id, confidence),
  };
}

/**
 * Every summary, the scaling curves and the latency curves of a results file, from its
 * repetitions and with its own plan's options (confidence target, server CPUs as an axis of their
 * own, latency objectives). The one function that derives them: the runner after every
 * repetition, an import, and an upgraded older file.
 */
export function deriveSummaries(results: ResultsFile): void {
  summarizeAll(results.scenarios, results.plan.confidenceTarget);
  results.scaling = scalingCurves(results.scenarios, {
    serverCpusAxis: results.plan.sweep.serverCpus !== null,
    confidence: results.plan.confidenceTarget,
  });
  results.latencyCurves = latencyCurves(results.scenarios, results.plan.slo, results.plan.confidenceTarget);
}

/** Every result's summary, each against its baseline at the same point. */
export function summarizeAll(results: readonly ScenarioResult[], confidence = DEFAULT_CONFIDENCE): void {
  for (const result of results) {
    if (result.repetitions.length === 0) continue;
    const baseline = baselineFor(result, results);
    result.summary = summarizeScenario(
      result.repetitions,
      baseline === null ? null : { id: baseline.id, repetitions: baseline.repetitions },
      confidence,
    );
  }
}

function estimateOf(r: RatioEstimate, scale = 1): Estimate {
  return {
    value: r.ratio * scale,
    ciLow: r.ciLow * scale,
    ciHigh: r.ciHigh * scale,
    confidence: r.confidence,
    confidenceTarget: r.confidenceTarget,
  };
}

/**
 * Speedup curves: per scenario, connection count and accept mode (and server CPU count when that
 * is swept on its own), throughput against workers relative to the smallest worker count, paired
 * by round, since every point of a group runs in every round.
 */
export function scalingCurves(
  results: readonly ScenarioResult[],
  options: { serverCpusAxis: boolean; confidence?: number } = { serverCpusAxis: false },
): ScalingCurve[] {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const curves = new Map<string, ScenarioResult[]>();
  for (const r of results) {
    if (r.skipped !== null && r.repetitions.length === 0) continue;
    const cpuKey = options.serverCpusAxis ? (r.point.serverCpus?.length ?? 'any') : '';
    const key = [r.scenarioId, r.payloadBytes, r.point.connections, r.point.accept ?? '', cpuKey].join('|');
    const list = curves.get(key) ?? [];
    list.push(r);
    curves.set(key, list);
  }
  const out: ScalingCurve[] = [];
  for (const members of curves.values()) {
    const byWorkers = [...members].sort((a, b) => a.point.workers - b.point.workers);
    if (new Set(byWorkers.map((m) => m.point.workers)).size < 2) continue;
    const base = byWorkers[0]!;
    const baseWorkers = base.point.workers;
    const points = byWorkers.map((m) => {
      const speedup = m === base ? null : pairedRatio(m.repetitions, base.repetitions, confidence);
      // The base point is 1 by definition: an exact value, not an estimate with coverage.
      const unit = base.summary?.requestsPerSecond
        ? { value: 1, ciLow: 1, ciHigh: 1, confidence: 0, confidenceTarget: confidence }
        : null;
      return {
        workers: m.point.workers,
        resultId: m.id,
        serverCpuCount: m.point.serverCpus?.length ?? null,
        requestsPerSecond: m.summary?.requestsPerSecond?.median ?? null,
        speedup: m === base ? unit : speedup === null ? null : estimateOf(speedup),
        efficiency:
          m === base ? unit : speedup === null ? null : estimateOf(speedup, baseWorkers / m.point.workers),
        lowerBound: m.summary?.lowerBound ?? false,
      };
    });
    let stopsRisingAt: number | null = baseWorkers;
    for (let i = 1; i < byWorkers.length; i++) {
      const step = pairedRatio(byWorkers[i]!.repetitions, byWorkers[i - 1]!.repetitions, confidence);
      if (step === null || step.ciLow <= 1) break;
      stopsRisingAt = byWorkers[i]!.point.workers;
    }
    if (base.summary?.requestsPerSecond == null) stopsRisingAt = null;
    out.push({
      scenarioId: base.scenarioId,
      label: base.label,
      payloadBytes: base.payloadBytes,
      baseline: base.baseline,
      connections: base.point.connections,
      accept: base.point.accept,
      baseWorkers,
      points,
      stopsRisingAt,
    });
  }
  return out;
}
