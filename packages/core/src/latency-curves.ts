import { baselineFor, latencySummary, ratioRecord, statOf, validRepetitions } from './figures.ts';
import {
  addHistograms,
  decodeHistogram,
  percentileOf,
  type SpectrumPoint,
  spectrumOfHistogram,
} from './hdr.ts';
import type { OpenLoop } from './load.ts';
import type { Slo } from './rates.ts';
import type {
  CapacityAtSlo,
  Estimate,
  LatencyCurve,
  LatencyCurvePoint,
  Repetition,
  ScenarioResult,
} from './results-schema.ts';
import { DEFAULT_CONFIDENCE, median, medianInterval, ratioEstimate } from './stats.ts';

/**
 * Latency against offered load (bench --rates), and the capacity at each latency objective: pure
 * functions of the repetitions, derived with every other summary (deriveSummaries).
 *
 * Capacity is found per round, not from the medians: every rate step of every server of a group
 * runs once per round, so a round is one complete sweep measured under one state of the machine,
 * and the rounds' capacities are a sample whose median has an honest interval. Percentiles come
 * from each repetition's own histogram (all hosts merged), never from an average of percentiles.
 */

/** The median achieved rate within this share of the offered one: the server kept up. */
export const KEPT_UP_TOLERANCE = 0.01;

/** load.latency's field for the percentiles tools report without a histogram. */
const LATENCY_FIELDS = new Map<
  number,
  'p50Micros' | 'p75Micros' | 'p90Micros' | 'p99Micros' | 'p999Micros' | 'maxMicros'
>([
  [50, 'p50Micros'],
  [75, 'p75Micros'],
  [90, 'p90Micros'],
  [99, 'p99Micros'],
  [99.9, 'p999Micros'],
  [100, 'maxMicros'],
]);

/** One rate step of a curve: its result and the repetition of each round. */
interface Step {
  result: ScenarioResult;
  offered: number;
  byRound: Map<number, Repetition>;
}

/**
 * What derivations read from the histograms, kept between them: decoding one takes most of a
 * millisecond and the runner derives everything after every repetition, so a sweep of 600
 * open-loop repetitions would otherwise decode 600 histograms 600 times over. Held weakly by the
 * records they were read from (gone with them) and checked against the very texts they were read
 * from, so a changed record is read afresh and the functions stay pure.
 */
const percentileMemo = new WeakMap<OpenLoop, { encoded: string; values: Map<number, number | null> }>();
const spectrumMemo = new WeakMap<
  ScenarioResult,
  { sources: readonly string[]; spectrum: SpectrumPoint[] | null }
>();

/** A run's latency at each of `percentiles`, from its histogram (`encoded`): decoded once for all. */
function histogramPercentiles(
  run: OpenLoop,
  encoded: string,
  percentiles: readonly number[],
): Map<number, number | null> {
  let memo = percentileMemo.get(run);
  if (memo === undefined || memo.encoded !== encoded) {
    memo = { encoded, values: new Map() };
    percentileMemo.set(run, memo);
  }
  const missing = percentiles.filter((p) => !memo.values.has(p));
  if (missing.length > 0) {
    const histogram = decodeHistogram(encoded);
    for (const p of missing) memo.values.set(p, percentileOf(histogram, p));
  }
  return memo.values;
}

/** The spectrum of these histograms added together (a step's valid repetitions); null without any. */
function spectrumOfRuns(result: ScenarioResult, sources: readonly string[]): SpectrumPoint[] | null {
  const memo = spectrumMemo.get(result);
  if (
    memo !== undefined &&
    memo.sources.length === sources.length &&
    memo.sources.every((t, i) => t === sources[i])
  ) {
    return memo.spectrum;
  }
  const points = sources.length === 0 ? [] : spectrumOfHistogram(addHistograms(sources.map(decodeHistogram)));
  const spectrum = points.length === 0 ? null : points;
  spectrumMemo.set(result, { sources, spectrum });
  return spectrum;
}

/**
 * One curve per server (scenarioId, and its point when the rates cross another sweep) with
 * open-loop results, in the order the results list them, its points ascending in offered rate;
 * each with its capacity at every objective of `slo` and that capacity's ratio to its baseline's
 * (the baseline's curve at the same place, baselineFor), paired by round.
 */
export function latencyCurves(
  results: readonly ScenarioResult[],
  slo: readonly Slo[],
  confidence = DEFAULT_CONFIDENCE,
): LatencyCurve[] {
  const percentiles = [...new Set(slo.map((objective) => objective.percentile))];
  const curves = [...stepsByServer(results).values()].map((steps) => {
    const first = steps[0]!.result;
    const measured = steps.filter((s) => s.byRound.size > 0);
    return {
      first,
      capacities: slo.map((objective) => roundCapacities(measured, objective, percentiles)),
      highest: Math.max(0, ...measured.map((s) => s.offered)),
      points: steps.map((s) => curvePoint(s, confidence)),
    };
  });
  return curves.map((curve) => {
    const baseline = baselineCurve(curves, curve);
    return {
      scenarioId: curve.first.scenarioId,
      label: curve.first.label,
      payloadBytes: curve.first.payloadBytes,
      group: curve.first.group,
      baseline: curve.first.baseline,
      baselineScenarioId: baseline?.first.scenarioId ?? null,
      points: curve.points,
      capacityAtSlo: slo.map((objective, i) => ({
        slo: objective,
        ...capacityOf(curve.capacities[i]!, curve.highest, confidence),
        ratioToBaseline:
          baseline === null
            ? null
            : capacityRatio(
                curve.capacities[i]!,
                baseline.capacities[i]!,
                baseline.first.scenarioId,
                confidence,
              ),
      })),
    };
  });
}

/**
 * Open-loop results grouped by server and by the point apart from its rate (a rate sweep crossed
 * with a worker sweep is one curve per worker count), ascending offered rate; skipped steps that
 * never ran left out.
 */
function stepsByServer(results: readonly ScenarioResult[]): Map<string, Step[]> {
  const byServer = new Map<string, Step[]>();
  for (const result of results) {
    const { offeredRate: offered, workers, connections, serverCpus, accept } = result.point;
    if (offered === null || (result.skipped !== null && result.repetitions.length === 0)) continue;
    const byRound = new Map<number, Repetition>();
    for (const rep of result.repetitions) if (!byRound.has(rep.round)) byRound.set(rep.round, rep);
    const key = JSON.stringify([result.scenarioId, workers, connections, serverCpus, accept]);
    const steps = byServer.get(key) ?? [];
    steps.push({ result, offered, byRound });
    byServer.set(key, steps);
  }
  for (const steps of byServer.values()) steps.sort((a, b) => a.offered - b.offered);
  return byServer;
}

/** The curve a curve is compared with: where its lowest step's baseline (baselineFor) sits. */
function baselineCurve<C extends { first: ScenarioResult }>(curves: readonly C[], curve: C): C | null {
  const baseline = baselineFor(
    curve.first,
    curves.map((c) => c.first),
  );
  return curves.find((c) => c.first === baseline) ?? null;
}

function curvePoint(step: Step, confidence: number): LatencyCurvePoint {
  const { result, offered } = step;
  const valid = validRepetitions(result.repetitions);
  const achieved = statOf(
    valid.map((r) => r.load.requestsPerSecond),
    confidence,
  );
  const sources = valid.flatMap((r) => {
    const encoded = r.load.openLoop?.histogram;
    return encoded === undefined ? [] : [encoded];
  });
  return {
    resultId: result.id,
    rateStep: result.point.rateStep ?? String(offered),
    offeredPerSecond: offered,
    achievedPerSecond: achieved,
    latency: latencySummary(result.repetitions, confidence),
    spectrum: spectrumOfRuns(result, sources),
    validRepetitions: valid.length,
    keptUp: achieved === null ? null : Math.abs(achieved.median - offered) <= KEPT_UP_TOLERANCE * offered,
  };
}

/**
 * A repetition's latency at `percentile`: from its histogram when it has one, else the field the
 * tool reported for exactly that percentile; null when neither says.
 */
function repetitionPercentile(
  rep: Repetition,
  percentile: number,
  percentiles: readonly number[],
): number | null {
  const run = rep.load.openLoop;
  if (run?.histogram !== undefined) {
    return histogramPercentiles(run, run.histogram, percentiles).get(percentile) ?? null;
  }
  const field = LATENCY_FIELDS.get(percentile);
  return field === undefined ? null : rep.load.latency[field];
}

/**
 * Each complete round's capacity: the highest offered rate at which the round's repetition was
 * valid and within the objective, with every lower judged rate within it too; 0 when the lowest
 * rate was judged and broke it. A step that cannot be judged (an invalid repetition, e.g. the
 * tool fell behind its schedule, or a percentile the tool did not report) says nothing either way
 * and is passed over: latency does not fall as the offered rate rises, so a higher rate that kept
 * the objective vouches for it, and a lower one that kept it is what the round has proven below
 * a failure. A round whose first judged step broke the objective above an unjudged one says
 * nothing (its capacity is below that step, perhaps above the lowest), nor does a round with no
 * judged step. Only rounds in which every measured step ran count: a round cut short (time
 * budget, a run still in progress) would otherwise read as a failure at the steps it never reached.
 */
function roundCapacities(
  steps: readonly Step[],
  slo: Slo,
  percentiles: readonly number[],
): Map<number, number> {
  const capacities = new Map<number, number>();
  if (steps.length === 0) return capacities;
  const rounds = [...steps[0]!.byRound.keys()].filter((r) => steps.every((s) => s.byRound.has(r)));
  for (const round of rounds.sort((a, b) => a - b)) {
    const capacity = roundCapacity(steps, round, slo, percentiles);
    if (capacity !== null) capacities.set(round, capacity);
  }
  return capacities;
}

function roundCapacity(steps: readonly Step[], round: number, slo: Slo, percentiles: readonly number[]) {
  let capacity: number | null = null;
  let unjudgedBelow = false;
  for (const step of steps) {
    const rep = step.byRound.get(round)!;
    const latency = rep.verdict.valid ? repetitionPercentile(rep, slo.percentile, percentiles) : null;
    if (latency === null) {
      unjudgedBelow ||= capacity === null;
      continue;
    }
    if (latency > slo.boundMicros) return capacity ?? (unjudgedBelow ? null : 0);
    capacity = step.offered;
  }
  return capacity;
}

/** The median of the rounds' capacities with its interval, and which side it is censored on. */
function capacityOf(
  capacities: ReadonlyMap<number, number>,
  highest: number,
  confidence: number,
): Pick<CapacityAtSlo, 'ratePerSecond' | 'censored'> {
  const values = [...capacities.values()];
  if (values.length === 0) return { ratePerSecond: null, censored: null };
  const interval = medianInterval(values, confidence);
  const estimate: Estimate = {
    value: median(values),
    ciLow: interval.low,
    ciHigh: interval.high,
    confidence: interval.confidence,
    confidenceTarget: confidence,
  };
  const censored = estimate.value === 0 ? 'below-lowest' : estimate.value === highest ? 'at-highest' : null;
  return { ratePerSecond: estimate, censored };
}

/**
 * This server's capacity over the baseline's, round by round (both measured under the same drift),
 * median of the per-round ratios; rounds missing on either side, or where the baseline's capacity
 * is 0, take no part. Null when no round pairs.
 */
export function capacityRatio(
  capacities: ReadonlyMap<number, number>,
  baselineCapacities: ReadonlyMap<number, number>,
  baselineId: string,
  confidence = DEFAULT_CONFIDENCE,
): CapacityAtSlo['ratioToBaseline'] {
  const pairs = [...capacities].flatMap(([round, capacity]) => {
    const theirs = baselineCapacities.get(round);
    return theirs === undefined || theirs <= 0 ? [] : [[capacity, theirs] as const];
  });
  if (pairs.length === 0) return null;
  return ratioRecord(
    ratioEstimate(
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
      { paired: true, confidence },
    ),
    baselineId,
  );
}
