import type {
  CapacityAtSlo,
  LatencyCurve,
  LatencyCurvePoint,
  LatencySummary,
  ResultsFile,
  StatSummary,
} from '@scaleup/core';
import { MARKS, type Marks } from './display.ts';
import { confidenceText, fmt, intervalText, RATIO_DIGITS } from './format.ts';
import { payloadLabel, pointLabel } from './model.ts';

/**
 * Open-loop rate sweeps (bench --rates) for every report: latency against offered load per
 * payload group, the percentile spectrum at one rate, and the capacity at each latency
 * objective. Every exporter lays these out and adds only its markup. A closed-loop run has no
 * latency curves, so every function here gives nothing and no report grows a section.
 */

/** The percentiles a curve carries, in the order the tables show them (max last). */
export const CURVE_PERCENTILES = [
  ['p50Micros', 'p50'],
  ['p90Micros', 'p90'],
  ['p99Micros', 'p99'],
  ['p999Micros', 'p99.9'],
  ['maxMicros', 'max'],
] as const;

/** The lines drawn against offered load: p99 bold, p50 and p99.9 thin. */
export const CHART_LINES = ['p50', 'p99', 'p99.9'] as const;
export type ChartLine = (typeof CHART_LINES)[number];
const LINE_KEY: Record<ChartLine, keyof LatencySummary> = {
  p50: 'p50Micros',
  p99: 'p99Micros',
  'p99.9': 'p999Micros',
};

export interface LatencyDatum {
  /** The server (its legend entry). */
  series: string;
  line: ChartLine;
  /** Offered responses per second. */
  x: number;
  /** Milliseconds: median over repetitions. */
  y: number;
  low: number | null;
  high: number | null;
  /** The server did not keep up with the offered rate here (hollow marker). */
  behind: boolean;
  rateStep: string;
  /** Exact figures for a hover tooltip (the page's charts); the PDF's leave it out. */
  tooltip?: string;
}

export interface SpectrumDatum {
  series: string;
  percentile: number;
  /** HdrHistogram's percentile axis: 1 / (1 - percentile), so 99% is 100 and 99.9% is 1000. */
  x: number;
  /** Milliseconds. */
  y: number;
}

/** Which rate step the spectrum of a group shows, and why, in words for the caption. */
export interface SpectrumChoice {
  rateStep: string;
  reason: 'highest-kept-up' | 'lowest';
  caption: string;
}

export interface LatencyGroup {
  group: string;
  payloadBytes: number;
  /** Per server, its curve and its name in legends and tables (unique in the group). */
  servers: { name: string; curve: LatencyCurve }[];
  curveTitle: string;
  curveSubtitle: string;
  curveData: LatencyDatum[];
  spectrum: SpectrumChoice | null;
  spectrumTitle: string;
  spectrumData: SpectrumDatum[];
}

/** Whether the run is an open-loop rate sweep with curves to show. */
export function hasLatencyCurves(results: ResultsFile): boolean {
  return results.latencyCurves.some((c) => c.points.length > 0);
}

const ms = (micros: number) => micros / 1000;

/**
 * Names unique within a group: the label; with the scenario id where two servers share one; with
 * the point (workers, connections, ...) where one scenario has a curve per point of another sweep.
 */
function serverNames(curves: LatencyCurve[], results: ResultsFile): string[] {
  const unique = (names: string[]) => {
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    return (n: string) => counts.get(n) === 1;
  };
  let names = curves.map((c) => c.label);
  let ok = unique(names);
  names = names.map((n, i) => (ok(n) ? n : `${n} (${curves[i]!.scenarioId})`));
  ok = unique(names);
  const pointOf = (c: LatencyCurve) => results.scenarios.find((s) => s.id === c.points[0]?.resultId)?.point;
  names = names.map((n, i) => {
    const point = pointOf(curves[i]!);
    return ok(n) || point === undefined ? n : `${n.slice(0, -1)}, ${pointLabel(point)})`;
  });
  ok = unique(names);
  return names.map((n, i) => (ok(n) ? n : `${n} #${i + 1}`));
}

/** A log axis cannot show 0: latencies under a microsecond are drawn at one. */
const positive = (value: number) => Math.max(value, 0.001);

function curveData(name: string, curve: LatencyCurve): LatencyDatum[] {
  return curve.points.flatMap((p) =>
    CHART_LINES.flatMap((line): LatencyDatum[] => {
      const st = (p.latency?.[LINE_KEY[line]] ?? null) as StatSummary | null;
      if (st === null) return [];
      return [
        {
          series: name,
          line,
          x: p.offeredPerSecond,
          y: positive(ms(st.median)),
          low: positive(ms(st.ciLow)),
          high: positive(ms(st.ciHigh)),
          behind: p.keptUp === false,
          rateStep: p.rateStep,
        },
      ];
    }),
  );
}

/**
 * The step the spectrum shows: the highest at which every server of the group kept up (so the
 * spectra compare servers under the same relative load, none of them drowning in its backlog),
 * else the lowest step. Steps are matched by their text: `75%` is each server's own 75%.
 */
export function spectrumStep(curves: LatencyCurve[]): SpectrumChoice | null {
  const withSpectra = curves.filter((c) => c.points.some((p) => p.spectrum !== null));
  if (withSpectra.length === 0) return null;
  const steps = [...new Set(withSpectra.flatMap((c) => c.points.map((p) => p.rateStep)))];
  const shared = steps.filter((step) =>
    withSpectra.every((c) => c.points.some((p) => p.rateStep === step && p.spectrum !== null)),
  );
  if (shared.length === 0) return null;
  const order = (step: string) =>
    Math.min(...withSpectra.map((c) => c.points.findIndex((p) => p.rateStep === step)));
  shared.sort((a, b) => order(a) - order(b));
  const keptUp = shared.filter((step) =>
    withSpectra.every((c) => c.points.find((p) => p.rateStep === step)!.keptUp === true),
  );
  if (keptUp.length > 0) {
    const step = keptUp[keptUp.length - 1]!;
    return {
      rateStep: step,
      reason: 'highest-kept-up',
      caption: `at rate step ${step}: the highest step at which every server of the group kept up with the offered rate`,
    };
  }
  const step = shared[0]!;
  return {
    rateStep: step,
    reason: 'lowest',
    caption: `at rate step ${step}, the lowest: at no step did every server of the group keep up with the offered rate`,
  };
}

function spectrumData(name: string, point: LatencyCurvePoint | undefined): SpectrumDatum[] {
  // 100% (the maximum) has no place on a 1/(1-p) axis; the tables give it.
  return (point?.spectrum ?? [])
    .filter((s) => s.percentile < 100)
    .map((s) => ({
      series: name,
      percentile: s.percentile,
      x: 1 / (1 - s.percentile / 100),
      y: positive(ms(s.micros)),
    }));
}

/** The latency curves of a rate sweep, one group per payload, in payload order. */
export function latencyGroups(results: ResultsFile): LatencyGroup[] {
  if (!hasLatencyCurves(results)) return [];
  const groups = new Map<string, LatencyCurve[]>();
  for (const curve of results.latencyCurves) {
    if (curve.points.length === 0) continue;
    const key = `${curve.payloadBytes}|${curve.group}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(curve);
  }
  return [...groups.values()]
    .sort((a, b) => a[0]!.payloadBytes - b[0]!.payloadBytes)
    .map((curves) => {
      // Our servers first, nginx (the baseline) last, as the seed's tables order them.
      const ordered = [...curves.filter((c) => !c.baseline), ...curves.filter((c) => c.baseline)];
      const names = serverNames(ordered, results);
      const servers = ordered.map((curve, i) => ({ name: names[i]!, curve }));
      const payload = payloadLabel(ordered[0]!.payloadBytes);
      const choice = spectrumStep(ordered);
      return {
        group: ordered[0]!.group,
        payloadBytes: ordered[0]!.payloadBytes,
        servers,
        curveTitle: `Latency against offered load, ${payload} payload`,
        curveSubtitle: 'bold: p99 (whiskers: its interval); dashed: p50; dotted: p99.9; hollow: fell behind',
        curveData: servers.flatMap((s) => curveData(s.name, s.curve)),
        spectrum: choice,
        // Short: vega shrinks the plot for a long title. The caption says why this step.
        spectrumTitle: `Latency by percentile, ${payload} payload${choice === null ? '' : `, at ${choice.rateStep}`}`,
        spectrumData:
          choice === null
            ? []
            : servers.flatMap((s) =>
                spectrumData(
                  s.name,
                  s.curve.points.find((p) => p.rateStep === choice.rateStep),
                ),
              ),
      };
    });
}

/** Why the spectrum of a group shows the step it shows: "40 bytes payload: spectrum at rate step 90%: ...". */
export function spectrumCaption(g: LatencyGroup): string | null {
  return g.spectrum === null
    ? null
    : `${payloadLabel(g.payloadBytes)} payload: spectrum ${g.spectrum.caption}.`;
}

/** The spectrum axis's ticks: where each label sits on the 1/(1-p) axis. */
export const SPECTRUM_TICKS: readonly { x: number; label: string }[] = [
  { x: 1, label: '0%' },
  { x: 2, label: '50%' },
  { x: 10, label: '90%' },
  { x: 100, label: '99%' },
  { x: 1000, label: '99.9%' },
  { x: 10_000, label: '99.99%' },
  { x: 100_000, label: '99.999%' },
  { x: 1_000_000, label: '99.9999%' },
];

/** One row of the capacity table: a server at one objective. */
export interface CapacityRow {
  server: string;
  scenarioId: string;
  payloadBytes: number;
  baseline: boolean;
  slo: string;
  capacity: CapacityAtSlo;
  /** "12,000", "< 5,500" (below the lowest step), "≥ 40,000" (held at the highest), or "–". */
  figure: string;
  /** "[12,000 – 18,000] 93.7%", or '' for a censored or missing capacity. */
  interval: string;
  /** What a censored capacity means, or ''. */
  censoredText: string;
  /** "baseline", "–", or the ratio to the baseline's capacity. */
  ratioFigure: string;
  ratioInterval: string;
}

export function censoredText(capacity: CapacityAtSlo): string {
  if (capacity.censored === 'below-lowest') return 'below the lowest rate step: even it broke the objective';
  if (capacity.censored === 'at-highest')
    return 'held at the highest rate step: the capacity is at least this';
  return '';
}

function capacityFigure(capacity: CapacityAtSlo, curve: LatencyCurve, marks: Marks): string {
  const rate = capacity.ratePerSecond;
  if (capacity.censored === 'below-lowest') {
    const lowest = curve.points[0]?.offeredPerSecond ?? null;
    return lowest === null ? '–' : `< ${fmt(lowest)}`;
  }
  if (rate === null) return '–';
  return `${capacity.censored === 'at-highest' ? marks.lower : ''}${fmt(rate.value)}`;
}

/**
 * The capacity's interval over rounds, '' when censored or missing. A round whose lowest step
 * already broke the objective counts as capacity 0; its bound reads "< lowest step", not 0.
 */
function capacityInterval(capacity: CapacityAtSlo, curve: LatencyCurve): string {
  const rate = capacity.ratePerSecond;
  if (capacity.censored !== null || rate === null) return '';
  const lowest = curve.points[0]?.offeredPerSecond ?? null;
  if (rate.ciLow > 0 || lowest === null) return intervalText(rate, 0);
  return `[< ${fmt(lowest)} – ${fmt(rate.ciHigh)}] ${confidenceText(rate)}`;
}

function baselineOf(results: ResultsFile, curve: LatencyCurve, capacity: CapacityAtSlo) {
  const baseline = results.latencyCurves.find(
    (c) => c.baseline && c.scenarioId === curve.baselineScenarioId && c.payloadBytes === curve.payloadBytes,
  );
  const theirs = baseline?.capacityAtSlo.find((c) => c.slo.text === capacity.slo.text);
  return baseline === undefined || theirs === undefined ? null : { curve: baseline, capacity: theirs };
}

const lowestStep = (curve: LatencyCurve): number | null => curve.points[0]?.offeredPerSecond ?? null;

/**
 * The ratio to the baseline's capacity as a figure and its interval. A censored capacity makes it
 * a bound, and says which side: a round that broke the objective at the lowest step counts as
 * capacity 0, so the paired ratio would read 0 where the truth is "below lowest / theirs".
 */
function ratioParts(
  results: ResultsFile,
  curve: LatencyCurve,
  capacity: CapacityAtSlo,
  marks: Marks,
): { figure: string; interval: string } {
  if (curve.baseline) return { figure: 'baseline', interval: '' };
  const theirs = baselineOf(results, curve, capacity);
  const ours = capacity.censored;
  const base = theirs?.capacity.censored ?? null;
  const oursValue = capacity.ratePerSecond?.value ?? null;
  const theirsValue = theirs?.capacity.ratePerSecond?.value ?? null;
  const none = { figure: '–', interval: '' };
  if (ours === 'below-lowest' || base === 'below-lowest') {
    if (ours === base || theirs === null) return none;
    if (ours === 'below-lowest') {
      const lowest = lowestStep(curve);
      if (lowest === null || theirsValue === null || theirsValue <= 0) return none;
      return { figure: `< ${fmt(lowest / theirsValue, RATIO_DIGITS)}`, interval: '(below our lowest step)' };
    }
    const lowest = lowestStep(theirs.curve);
    if (lowest === null || oursValue === null || lowest <= 0) return none;
    return {
      figure: `> ${fmt(oursValue / lowest, RATIO_DIGITS)}`,
      interval: "(below the baseline's lowest step)",
    };
  }
  const r = capacity.ratioToBaseline;
  // Both held at their highest steps: neither capacity is known, nor their ratio.
  if (r === null || (ours === 'at-highest' && base === 'at-highest')) return none;
  const mark = ours === 'at-highest' ? marks.lower : base === 'at-highest' ? marks.upper : '';
  return {
    figure: `${mark}${fmt(r.ratio, RATIO_DIGITS)}`,
    interval: `${intervalText(r, RATIO_DIGITS)}${mark === '' ? '' : ' (a capacity is censored)'}`,
  };
}

/** Every server's capacity at every objective, per payload group, our servers before nginx. */
export function capacityRows(results: ResultsFile, marks: Marks = MARKS): CapacityRow[] {
  return latencyGroups(results).flatMap((g) =>
    g.servers.flatMap(({ name, curve }) =>
      curve.capacityAtSlo.map((capacity): CapacityRow => {
        const ratio = ratioParts(results, curve, capacity, marks);
        return {
          server: name,
          scenarioId: curve.scenarioId,
          payloadBytes: curve.payloadBytes,
          baseline: curve.baseline,
          slo: capacity.slo.text,
          capacity,
          figure: capacityFigure(capacity, curve, marks),
          interval: capacityInterval(capacity, curve),
          censoredText: censoredText(capacity),
          ratioFigure: ratio.figure,
          ratioInterval: ratio.interval,
        };
      }),
    ),
  );
}

/** One row of the per-point table: a server at one rate step. */
export interface LatencyPointRow {
  server: string;
  scenarioId: string;
  payloadBytes: number;
  point: LatencyCurvePoint;
  /** p50, p90, p99, p99.9, max: medians over repetitions (µs) or null. */
  percentiles: (StatSummary | null)[];
  /** "≤ " where the percentiles are upper bounds (merged from hosts without histograms), else "". */
  mark: string;
}

export function latencyPointRows(results: ResultsFile, marks: Marks = MARKS): LatencyPointRow[] {
  return latencyGroups(results).flatMap((g) =>
    g.servers.flatMap(({ name, curve }) =>
      curve.points.map((point) => ({
        server: name,
        scenarioId: curve.scenarioId,
        payloadBytes: curve.payloadBytes,
        point,
        percentiles: CURVE_PERCENTILES.map(([key]) => (point.latency?.[key] ?? null) as StatSummary | null),
        mark: point.latency?.upperBound ? marks.upper : '',
      })),
    ),
  );
}

/** "yes", "no (achieved 93.1% of offered)" or "–": whether the server kept up at the point. */
export function keptUpText(point: LatencyCurvePoint): string {
  if (point.keptUp === null) return '–';
  if (point.keptUp) return 'yes';
  const achieved = point.achievedPerSecond?.median ?? null;
  return achieved === null ? 'no' : `no (${fmt((100 * achieved) / point.offeredPerSecond, 1)}% of offered)`;
}

/** What the latency section says before its charts, the same in every report. */
export function latencyExplanation(results: ResultsFile): string {
  const slo = results.plan.slo.map((s) => s.text).join(', ');
  return [
    `Open loop: requests were sent on a fixed schedule at each offered rate (${(results.plan.rates ?? []).join(', ')}; a percentage is of each server's own closed-loop capacity from warm-up), and each latency is measured from the moment its request should have been sent, so a stall is charged for everything queued behind it.`,
    'Percentiles are the median over repetitions of each repetition’s percentile from its merged histogram, with the interval of that median; the spectrum adds every valid repetition’s histogram together.',
    ...(slo === ''
      ? []
      : [
          `Capacity at an objective (${slo}) is the highest offered rate at which the percentile stayed within the bound at it and every lower rate, median over rounds with its interval; < and ≥ mark a capacity below the lowest or at the highest step measured. Its ratio to nginx is paired by round.`,
        ]),
  ].join(' ');
}
