import type { BenchEvent } from '@scaleup/bench';
import { minimumRepetitionsFor, type ResultsFile } from '@scaleup/core';
import {
  ASCII_MARKS,
  displayName,
  displayResults,
  displayText,
  EFFICIENCY_NOTE,
  efficiencyView,
  intervalText,
  isLowerBound,
  isShort,
  LOWER_BOUND_NOTE,
  p99View,
  quotaNote,
  ratioView,
  rpsView,
  validText,
} from '@scaleup/report';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatRate(value: number): string {
  return integer.format(value);
}

/** One line per finished repetition: enough to follow a long run, quiet enough to read. */
export function repetitionLine(
  input: Omit<Extract<BenchEvent, { type: 'rep-done' }>, 'type' | 'etaSeconds' | 'etaMaxSeconds'> & {
    eta: string | null;
  },
): string {
  const { repetition: rep } = input;
  const width = String(input.runs).length;
  const verdict = rep.verdict.valid
    ? rep.verdict.clientBound
      ? 'valid, client-bound'
      : 'valid'
    : `INVALID: ${displayText(rep.verdict.reasons.slice(0, 2).join('; '))}`;
  return [
    `[${String(input.index).padStart(width)}/${input.runs}]`,
    displayName(input.scenarioId).padEnd(8),
    `rep ${input.round + 1}/${input.rounds}`,
    `${formatRate(rep.load.requestsPerSecond).padStart(9)} req/s`,
    `${twoDecimals.format(rep.load.megabytesPerSecond).padStart(8)} MB/s`,
    verdict,
    input.eta === null ? '' : `ETA ${input.eta}`,
  ]
    .filter((part) => part !== '')
    .join('  ');
}

/** How each group's rounds ended, when adaptive: the widest interval against the target. */
export function roundsLine(event: Extract<BenchEvent, { type: 'rounds' }>): string {
  const { stop } = event;
  const widest =
    stop.worstHalfWidth === null
      ? 'no interval yet'
      : `widest interval ±${(stop.worstHalfWidth * 100).toFixed(1)}% (${displayName(stop.worstResult ?? '')})`;
  const target = event.target === null ? '' : `, target ±${(event.target * 100).toFixed(1)}%`;
  const outcome = event.more
    ? 'another round'
    : ({
        'target-reached': 'done: target reached',
        'max-repetitions': 'stopped: --max-reps reached',
        'time-budget': 'stopped: time budget spent',
        fixed: 'done',
        interrupted: 'interrupted',
      }[stop.stoppedBy] ?? stop.stoppedBy);
  return `${displayName(stop.group)}: after ${stop.rounds} rounds ${widest}${target}: ${outcome}`;
}

/** The server column: what ran, in a word or two. */
function serverName(s: ResultsFile['scenarios'][number]): string {
  switch (s.server.kind) {
    case 'scaleup':
      return `scaleup ${s.server.resource}`;
    case 'nginx':
      return `nginx ${s.server.preset}`;
    case 'imported':
      return s.label;
    case 'command':
      return 'command';
  }
}

/** One row of the summary table, from the display model every report shares. */
function summaryRow(s: ResultsFile['scenarios'][number]): string[] {
  const name = serverName(s);
  if (s.skipped !== null || s.summary === null) {
    return [s.id, `${s.payloadBytes} B`, name, `skipped: ${s.skipped ?? 'no repetitions'}`];
  }
  const rps = rpsView(s, ASCII_MARKS);
  const mbps = s.summary.megabytesPerSecond;
  const ratio = ratioView(s, ASCII_MARKS, 2);
  return [
    s.id,
    `${s.payloadBytes} B`,
    name,
    rps === null ? '-' : rps.figure,
    rps === null ? '-' : rps.interval,
    rps === null ? '-' : `${(rps.stat.cv * 100).toFixed(1)}%`,
    mbps === null ? '-' : twoDecimals.format(mbps.median),
    ratio.kind === 'baseline' ? 'baseline' : ratio.kind === 'none' ? '-' : `${ratio.figure}x`,
    ratio.kind === 'ratio' ? ratio.interval : '',
    ...efficiencyCells(s),
    p99View(s, ASCII_MARKS)?.text ?? '',
    validText(s, true),
    s.summary.fairnessRequests === null ? '' : s.summary.fairnessRequests.toFixed(3),
  ];
}

/**
 * Server CPU per response against the baseline's, beside the throughput ratio: never a lower
 * bound, since it holds whoever saturated. Results without costs show no such columns.
 */
function efficiencyCells(s: ResultsFile['scenarios'][number]): string[] {
  if (s.summary?.efficiencyToBaseline === undefined) return [];
  const e = efficiencyView(s, 2);
  return e.kind === 'baseline'
    ? ['baseline', '']
    : e.kind === 'none'
      ? ['-', '']
      : [`${e.figure}x`, e.interval];
}

const EFFICIENCY_HEADER = ['efficiency', 'interval'];

const SUMMARY_HEADER = [
  'scenario',
  'payload',
  'server',
  'req/s median',
  'interval',
  'cv',
  'MB/s',
  'vs nginx',
  'interval',
  'p99 ms',
  'valid',
  'fairness',
];

const STOPPED_BY: Record<string, string> = {
  'target-reached': 'target reached',
  'max-repetitions': '--max-reps reached',
  'time-budget': 'time budget spent',
  interrupted: 'interrupted',
};

/** The lines under the table: what the intervals, the * and the >= mean, and how rounds ended. */
function summaryNotes(results: ResultsFile): string[] {
  const target = Math.round(results.plan.confidenceTarget * 100);
  const measured = results.scenarios.filter((s) => s.skipped === null && s.summary !== null);
  const notes = [
    'intervals: order-statistic (distribution-free) intervals of the median, with the confidence each really has; vs nginx is the median of per-round ratios',
  ];
  if (measured.some((s) => s.summary!.efficiencyToBaseline != null)) {
    notes.push(EFFICIENCY_NOTE);
  }
  const estimates = measured.flatMap((s) => [s.summary!.requestsPerSecond, s.summary!.ratioToBaseline]);
  if (estimates.some((e) => e !== null && isShort(e))) {
    notes.push(
      `* too few repetitions for ${target}%: the interval is min..max and covers the median only with the confidence shown (>= ${minimumRepetitionsFor(results.plan.confidenceTarget)} valid rounds reach ${target}%)`,
    );
  }
  if (measured.some(isLowerBound)) notes.push(`>= ${LOWER_BOUND_NOTE}`);
  const quota = quotaNote(results);
  if (quota !== null) notes.push(quota);
  const adaptive = results.stopping.filter((g) => g.stoppedBy !== 'fixed');
  if (adaptive.length > 0) {
    const groups = adaptive.map(
      (g) =>
        `${g.group} ${g.rounds} (${STOPPED_BY[g.stoppedBy] ?? g.stoppedBy}${g.worstHalfWidth === null ? '' : `, widest ±${(g.worstHalfWidth * 100).toFixed(1)}% ${g.worstResult}`})`,
    );
    notes.push(`rounds: ${groups.join('; ')}`);
  }
  return notes;
}

/**
 * The final table: medians with their intervals, spread, ratio to the baseline, p99, valid reps.
 * Labels and names from the file are shown cleaned (control characters escaped, never obeyed).
 */
export function summaryTable(input: ResultsFile): string {
  const results = displayResults(input);
  const rows = results.scenarios.map(summaryRow);
  const withEfficiency = results.scenarios.some((s) => s.summary?.efficiencyToBaseline !== undefined);
  const header = withEfficiency
    ? [...SUMMARY_HEADER.slice(0, 9), ...EFFICIENCY_HEADER, ...SUMMARY_HEADER.slice(9)]
    : SUMMARY_HEADER;
  // A row whose result has no costs in a run with some gets empty efficiency cells.
  const cells = (r: string[]) =>
    withEfficiency && r.length === SUMMARY_HEADER.length ? [...r.slice(0, 9), '', '', ...r.slice(9)] : r;
  const lastRightAligned = withEfficiency ? 11 : 9;
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((r) => r.length > 4).map((r) => (cells(r)[i] ?? '').length)),
  );
  const line = (row: string[]) =>
    row.length <= 4
      ? row.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ')
      : cells(row)
          .map((c, i) => (i >= 3 && i <= lastRightAligned ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd();
  return [line(header), ...rows.map(line), '', ...summaryNotes(results)].join('\n');
}

/** One line per scaling curve: throughput at each worker count, speedup with its interval, where it stops rising. */
export function scalingLines(input: ResultsFile): string[] {
  const results = displayResults(input);
  return results.scaling.map((curve) => {
    const points = curve.points.map((p) => {
      const rps = p.requestsPerSecond === null ? '-' : formatRate(p.requestsPerSecond);
      const bound = p.lowerBound ? ASCII_MARKS.lower : '';
      if (p.workers === curve.baseWorkers || p.speedup === null) return `w${p.workers} ${bound}${rps}`;
      return `w${p.workers} ${bound}${rps} (speedup ${p.speedup.value.toFixed(2)} ${intervalText(p.speedup, 2)}, efficiency ${p.efficiency?.value.toFixed(2) ?? '-'})`;
    });
    const accept = curve.accept === null ? '' : `, ${curve.accept}`;
    const stops =
      curve.stopsRisingAt === null
        ? ''
        : `; stops rising after ${curve.stopsRisingAt} worker${curve.stopsRisingAt === 1 ? '' : 's'}`;
    return `scaling ${curve.scenarioId} ${curve.payloadBytes} B, ${curve.connections} connections${accept}: ${points.join('; ')}${stops}`;
  });
}
