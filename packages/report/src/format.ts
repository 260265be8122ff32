import { createHash } from 'node:crypto';

/**
 * How numbers and text from results.json are written, for every output: the PDF, the page, the
 * Markdown, the workbook and the terminal. Nothing here knows about a file format.
 */

type Metric = 'requestsPerSecond' | 'megabytesPerSecond';

/** Digits of each headline metric in tables (responses/s whole, MB/s to the hundredth). */
export const DIGITS: Record<Metric, number> = { requestsPerSecond: 0, megabytesPerSecond: 2 };
/** The same digits as d3-format specifiers, for chart labels and axes. */
export const D3_FORMAT: Record<Metric, string> = { requestsPerSecond: ',.0f', megabytesPerSecond: ',.2f' };
/** Ratios to nginx: three digits in tables. */
export const RATIO_DIGITS = 3;
/** Server CPU per response in µs: a tenth of a µs in tables and charts. */
export const COST_DIGITS = 1;
export const COST_D3_FORMAT = ',.1f';

export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtCi(low: number | null | undefined, high: number | null | undefined, digits = 0): string {
  if (low === null || low === undefined || high === null || high === undefined) return '';
  return `[${fmt(low, digits)} – ${fmt(high, digits)}]`;
}

/** Figures as results.json has them (tooltips): up to `digits`, no trailing zeros. */
export function exact(value: number, digits: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export interface IntervalEstimate {
  ciLow: number;
  ciHigh: number;
  confidence: number;
  confidenceTarget: number;
}

/** The coverage an interval really has, "95.3%", with a `*` when it falls short of the level asked. */
export function confidenceText(estimate: { confidence: number; confidenceTarget: number }): string {
  // One value: the "interval" is that value, with no coverage at all.
  if (estimate.confidence === 0) return 'no interval*';
  const pct = Math.floor(estimate.confidence * 1000) / 10;
  return `${pct}%${estimate.confidence < estimate.confidenceTarget ? '*' : ''}`;
}

/** Whether an estimate's interval falls short of the level asked (it earns the `*` footnote). */
export function isShort(estimate: { confidence: number; confidenceTarget: number }): boolean {
  return estimate.confidence < estimate.confidenceTarget;
}

/** An interval's two parts: its range "1,000 – 2,000" and the confidence it reaches "95.3%*". */
export function intervalParts(
  estimate: IntervalEstimate,
  digits: number,
): { range: string; confidence: string } {
  return {
    range: `${fmt(estimate.ciLow, digits)} – ${fmt(estimate.ciHigh, digits)}`,
    confidence: confidenceText(estimate),
  };
}

/** "[1,000 – 2,000] 95.3%": an interval and the confidence it reaches, as every table prints it. */
export function intervalText(estimate: IntervalEstimate, digits: number): string {
  const { range, confidence } = intervalParts(estimate, digits);
  return `[${range}] ${confidence}`;
}

export const METHODOLOGY = [
  'Each scenario runs one server configuration (a scaleup resource with its workers, or nginx) at one payload size. Scenarios of the same payload are interleaved: every round runs each of them once, in turn, so slow drifts of the machine (thermal, noisy neighbours) hit all of them alike.',
  'Before the measured rounds, each server gets warm-up runs whose figures are discarded (JIT compilation, page cache, connection set-up).',
  'When pinning is on, the server (or nginx) runs on one half of the CPUs and the load tool on the other, so the two do not compete for cores. A repetition where the load tool saturated its own CPU is flagged client-bound: it measures the client, not the server.',
  'A repetition is invalid when the tool did not finish, responses failed or had the wrong size, or the kernel dropped connections; invalid repetitions are listed but never enter the statistics.',
  'Every figure is the median over valid repetitions, with a distribution-free confidence interval of the median: a pair of order statistics whose coverage follows from the binomial distribution alone, reported with the confidence it actually reaches. With too few repetitions for the level asked (95% needs at least 6) the interval is min..max and its lower, real confidence is printed with a *.',
  'The ratio to nginx is the median over rounds of (server / nginx in the same round, at the same payload and sweep point, on the same machine), with the order-statistic interval of those per-round ratios. Absolute figures depend on the machine; the ratio is the figure that transfers between machines.',
  'With adaptive repetitions the runner adds interleaved rounds until every ratio interval reaches the confidence asked for and is within the target half-width, or a round or time budget is spent; the run records which stopped it.',
  'Latency percentiles are the median over repetitions of each repetition’s percentile, with the spread over repetitions; percentiles are never averaged.',
  'MB/s counts 10^6 bytes of succeeded responses (headers and body) per second.',
];

/** Display length of a name (a scenario label, a host name): long enough for any real one. */
export const LABEL_MAX = 160;
/** Display length of any other text from a file (a warning, a command line, a reason). */
export const TEXT_MAX = 4000;

// Line breaks of every kind, with the blanks around them: one space, as Markdown and HTML show them.
const LINE_BREAKS = /[^\S\r\n\v\f\u0085\u2028\u2029]*[\r\n\v\f\u0085\u2028\u2029]+\s*/g;
// C0 and C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeControl(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\t') return '\\t';
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Text from a results file as every output shows it: line breaks become one space, every other
 * control character (ESC, C0/C1, DEL, bidi overrides) is shown escaped ("\x1b", "\u202e") and
 * never obeyed, and the length is bounded (the full text stays in results.json). A cut text ends
 * in "…" and a short hash of the whole, so two long names that differ only late stay apart.
 * Linear in the input; the same input always gives the same text.
 */
export function displayText(text: string, max = TEXT_MAX): string {
  let head = text;
  let tail = '';
  if (text.length > max) {
    head = text.slice(0, max);
    // Never cut a surrogate pair in two.
    if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
    tail = `… #${createHash('sha256').update(text).digest('hex').slice(0, 8)}`;
  }
  return head.replace(LINE_BREAKS, ' ').replace(CONTROLS, escapeControl) + tail;
}

/** A name (scenario label, host name, run label) for display: cleaned and bounded to LABEL_MAX. */
export function displayName(text: string): string {
  return displayText(text, LABEL_MAX);
}
