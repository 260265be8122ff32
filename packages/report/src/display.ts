import {
  DEFAULT_CONFIDENCE,
  type Ratio,
  type ResultsFile,
  type ScenarioResult,
  type StatSummary,
  summarize,
} from '@scaleup/core';
import {
  COST_DIGITS,
  DIGITS,
  displayText,
  exact,
  fmt,
  intervalText,
  LABEL_MAX,
  RATIO_DIGITS,
  TEXT_MAX,
} from './format.ts';

/**
 * What a headline row says, decided once for every output: the PDF, the page, the Markdown, the
 * workbook, the comparison and the terminal lay these out and add only their markup, as
 * hyperfine's exporters share one table. The lower-bound mark, baseline-or-ratio, the interval
 * text, the valid count and the p99 bound are each one function here.
 */

/** The marks of a bound: typographic in the files, ASCII on a terminal. */
export interface Marks {
  lower: string;
  upper: string;
}
export const MARKS: Marks = { lower: '≥ ', upper: '≤ ' };
export const ASCII_MARKS: Marks = { lower: '>=', upper: '<=' };

/** What the ≥ means, in the words every report uses. */
export const LOWER_BOUND_NOTE =
  'the load tool was saturated in most repetitions, so the figure is a lower bound';

/** Whether a scenario's throughput (and ratio) is only a lower bound: the load tool saturated. */
export function isLowerBound(s: ScenarioResult): boolean {
  return s.summary?.lowerBound === true;
}

/** "≥ " before a lower bound's figure, "" otherwise. */
export function lowerBoundMark(s: ScenarioResult, marks: Marks = MARKS): string {
  return isLowerBound(s) ? marks.lower : '';
}

/** "≤ " before latencies that are upper bounds (merged from several load hosts). */
export function upperBoundMark(s: ScenarioResult, marks: Marks = MARKS): string {
  return s.summary?.latency?.upperBound ? marks.upper : '';
}

/** A figure with its bound mark: "≥ 12,345". */
export function figureText(value: number | null | undefined, digits: number, mark = ''): string {
  return `${mark}${fmt(value, digits)}`;
}

/** A median and "[low – high] 95.3%" under it, as the tables print a statistic. */
export function statText(st: StatSummary, digits: number, mark = ''): { figure: string; interval: string } {
  return { figure: figureText(st.median, digits, mark), interval: intervalText(st, digits) };
}

/** The ratio column: the baseline itself, no ratio, or the ratio with its interval and notes. */
export type RatioView =
  | { kind: 'baseline' }
  | { kind: 'none' }
  | {
      kind: 'ratio';
      ratio: Ratio;
      /** "≥ 1.234" */
      figure: string;
      /** "[1.200 – 1.300] 95.3%" */
      interval: string;
      /** "ratio of medians" when the rounds could not be paired, else null. */
      note: string | null;
    };

export function ratioView(s: ScenarioResult, marks: Marks = MARKS, digits = RATIO_DIGITS): RatioView {
  if (s.baseline) return { kind: 'baseline' };
  const r = s.summary?.ratioToBaseline ?? null;
  if (r === null) return { kind: 'none' };
  return {
    kind: 'ratio',
    ratio: r,
    figure: figureText(r.ratio, digits, lowerBoundMark(s, marks)),
    interval: intervalText(r, digits),
    note: r.paired ? null : 'ratio of medians',
  };
}

/** The valid count: "4 of 5" ("4/5" where a column is narrow), or "skipped". */
export function validText(s: ScenarioResult, compact = false): string {
  if (s.skipped !== null) return 'skipped';
  const valid = s.summary?.validRepetitions ?? 0;
  return compact ? `${valid}/${s.repetitions.length}` : `${valid} of ${s.repetitions.length}`;
}

/** The p99 in ms with its upper-bound mark ("≤ 1.23"), or null when none was measured. */
export function p99View(s: ScenarioResult, marks: Marks = MARKS): { text: string; ms: number } | null {
  const p99 = s.summary?.latency?.p99Micros ?? null;
  if (p99 === null) return null;
  return { text: figureText(p99.median / 1000, 2, upperBoundMark(s, marks)), ms: p99.median / 1000 };
}

/** The responses/s figure of a scenario, marked as a lower bound where it is one. */
export function rpsView(s: ScenarioResult, marks: Marks = MARKS) {
  const rps = s.summary?.requestsPerSecond ?? null;
  return rps === null
    ? null
    : { stat: rps, ...statText(rps, DIGITS.requestsPerSecond, lowerBoundMark(s, marks)) };
}

/**
 * Whether a run carries costs: core writes the cost keys into a summary only when some repetition
 * recorded one, so results from before costs (the shipped runs) keep their exact reports.
 */
export function hasCosts(results: ResultsFile): boolean {
  return results.scenarios.some(
    (s) =>
      s.summary != null &&
      (s.summary.serverCpuMicrosPerResponse !== undefined || s.summary.efficiencyToBaseline !== undefined),
  );
}

/** What a cost means, in the words every report uses; never a lower bound, unlike the ratio. */
export const EFFICIENCY_NOTE =
  "efficiency: nginx's server CPU per successful response over this server's, median of per-round ratios (above 1: cheaper); never a lower bound";

/** The server's CPU per successful response (µs): median and its interval, never marked. */
export function serverCpuView(s: ScenarioResult) {
  const cost = s.summary?.serverCpuMicrosPerResponse ?? null;
  return cost === null ? null : { stat: cost, ...statText(cost, COST_DIGITS) };
}

/**
 * The load tool's CPU per successful response (µs) against this server: median over valid
 * repetitions with its rank interval, as core summarises the server's. Null where no repetition
 * recorded it. Shown beside the server's cost: a tool that spends as much per response as the
 * server is what makes a throughput figure a lower bound.
 */
export function toolCpuView(s: ScenarioResult, confidence = DEFAULT_CONFIDENCE) {
  const values = s.repetitions.flatMap((rep) => {
    const v = rep.verdict.valid ? (rep.cost?.toolCpuMicrosPerResponse ?? null) : null;
    return v === null ? [] : [v];
  });
  if (values.length === 0) return null;
  const stat: StatSummary = summarize(values, confidence);
  return { stat, ...statText(stat, COST_DIGITS) };
}

/**
 * Under a cgroup CPU quota the absolute figures are per share of a core: one sentence every
 * report puts near its throughput figures, or null without a quota.
 */
export function quotaNote(results: ResultsFile): string | null {
  const quota = results.topology.serverCpuQuotaCores;
  const tail =
    'absolute responses/s are per that share of a core, not what the machine can serve; the ratio to nginx and the efficiency are what compare across machines.';
  if (quota !== null) return `Every server ran under a CPU quota of ${exact(quota, 2)} CPU: ${tail}`;
  // A calibrated run can cap each payload group at its own quota, and lower it between rounds
  // (then the run records none).
  const groups = (results.topology.calibration?.groups ?? []).flatMap((g) => {
    const lowered = g.adjustments.map((a) => `, ${exact(a.quotaCores, 2)} from round ${a.afterRound + 1}`);
    if (g.serverQuotaCores === null && lowered.length === 0) return [];
    const first = g.serverQuotaCores === null ? 'uncapped' : `${exact(g.serverQuotaCores, 2)} CPU`;
    return [`${g.group}: ${first}${lowered.join('')}`];
  });
  return groups.length === 0 ? null : `Servers ran under a CPU quota (${groups.join('; ')}): ${tail}`;
}

/** What a compare cell says where a run recorded no cost at all: not measured, never 0. */
export const NO_COST_DATA = 'n/a';

/**
 * The efficiency column: the baseline itself, no efficiency (no costs recorded or no pairs), or
 * the baseline's CPU per response over this one's with its interval. No ≥: what a response costs
 * a server does not depend on whether the tool kept up.
 */
export function efficiencyView(s: ScenarioResult, digits = RATIO_DIGITS): RatioView {
  const e = s.summary?.efficiencyToBaseline ?? null;
  if (s.baseline && s.summary?.efficiencyToBaseline !== undefined) return { kind: 'baseline' };
  if (e === null) return { kind: 'none' };
  return {
    kind: 'ratio',
    ratio: e,
    figure: figureText(e.ratio, digits),
    interval: intervalText(e, digits),
    note: e.paired ? null : 'ratio of medians',
  };
}

/** "group: 7 rounds, stopped by target-reached; widest ratio interval ±1.2% (1a)". */
export function stoppingText(g: ResultsFile['stopping'][number]): string {
  return `${g.group}: ${g.rounds} rounds, stopped by ${g.stoppedBy}${g.worstHalfWidth === null ? '' : `; widest ratio interval ±${fmt(g.worstHalfWidth * 100, 1)}% (${g.worstResult})`}`;
}

// Fields that name something (a scenario, a host, a server): shown shorter than other text.
const NAME_FIELDS = new Set(['label', 'name', 'hostname', 'compareAs', 'cpuModel']);

function cleanValue(value: unknown, max: number): unknown {
  if (typeof value === 'string') return displayText(value, max);
  if (Array.isArray(value)) return value.map((v) => cleanValue(v, max));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value))
      out[key] = cleanValue(v, NAME_FIELDS.has(key) ? LABEL_MAX : TEXT_MAX);
    return out;
  }
  return value;
}

/**
 * results.json as every output shows it: each text cleaned and bounded by displayText (names to
 * LABEL_MAX, other text to TEXT_MAX), numbers as they are. Every exporter and the terminal
 * start from this, so one odd label cannot break or forge any of them.
 */
export function displayResults(results: ResultsFile): ResultsFile {
  return cleanValue(results, TEXT_MAX) as ResultsFile;
}
