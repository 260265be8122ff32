import type { BenchEvent } from '@scaleup/bench';
import { minimumRepetitionsFor, type ResultsFile, withoutRateStep } from '@scaleup/core';
import {
  ASCII_MARKS,
  capacityRows,
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
  const open = rep.load.openLoop;
  const verdict = rep.verdict.valid
    ? rep.verdict.clientBound
      ? 'valid, client-bound'
      : 'valid'
    : `INVALID: ${displayText(rep.verdict.reasons.slice(0, 2).join('; '))}`;
  return [
    `[${String(input.index).padStart(width)}/${input.runs}]`,
    displayName(input.scenarioId).padEnd(8),
    `rep ${input.round + 1}/${input.rounds}`,
    ...(open === undefined
      ? [
          `${formatRate(rep.load.requestsPerSecond).padStart(9)} req/s`,
          `${twoDecimals.format(rep.load.megabytesPerSecond).padStart(8)} MB/s`,
        ]
      : [
          `offered ${formatRate(open.offeredPerSecond).padStart(7)}/s`,
          `achieved ${formatRate(rep.load.requestsPerSecond).padStart(7)}/s`,
          `p99 ${msText(rep.load.latency.p99Micros)} ms`,
        ]),
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

/** Latency in milliseconds with the digits its size needs: 0.085, 1.24, 312. */
export function msText(micros: number | null | undefined): string {
  if (micros === null || micros === undefined) return '-';
  const ms = micros / 1000;
  return ms.toFixed(ms < 1 ? 3 : ms < 100 ? 2 : 0);
}

/** A rate sweep's server after warm-up: the capacity its shares are of, and each step's rate. */
export function ratesLine(event: Extract<BenchEvent, { type: 'rates' }>): string {
  const capacity =
    event.capacityPerSecond === null
      ? 'capacity unknown'
      : `capacity ${formatRate(event.capacityPerSecond)}/s (last warm-up run)`;
  const steps = event.steps.map(
    (s) => `${s.rateStep} ${s.offeredPerSecond === null ? 'skipped' : `${formatRate(s.offeredPerSecond)}/s`}`,
  );
  return `rates ${displayName(event.server)}: ${capacity}; offered ${steps.join(', ')}`;
}

const RATE_HEADER = [
  'server',
  'step',
  'offered/s',
  'achieved/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'max ms',
  'valid',
];

/** Columns after the first two are figures, right-aligned; the table is plain text for stderr. */
function alignedTable(rows: string[][]): string[] {
  const widths = RATE_HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

type Curve = ResultsFile['latencyCurves'][number];

/** The server a curve is of: its scenario, with the point when the rates cross another sweep. */
function curveServer(curve: Curve): string {
  const first = curve.points[0];
  return first === undefined ? curve.scenarioId : withoutRateStep(first.resultId);
}

function curveRows(curve: Curve): string[][] {
  const server = curveServer(curve);
  return curve.points.map((p) => [
    server,
    p.rateStep,
    formatRate(p.offeredPerSecond),
    p.achievedPerSecond === null ? '-' : formatRate(p.achievedPerSecond.median),
    msText(p.latency?.p50Micros?.median),
    msText(p.latency?.p99Micros?.median),
    msText(p.latency?.p999Micros?.median),
    msText(p.latency?.maxMicros?.median),
    `${p.validRepetitions}${p.keptUp === false ? ' (fell behind)' : ''}`,
  ]);
}

/**
 * Capacity at each objective, from the reports' capacity rows (so the terminal says what the
 * tables say): the highest offered rate that kept it, its interval, its ratio to the baseline,
 * and "a capacity is censored" where either side's is only a bound.
 */
function capacityLines(results: ResultsFile, group: string): string[] {
  const byScenario = new Map(results.latencyCurves.map((c) => [c.scenarioId, c]));
  return capacityRows(results, { lower: '>= ', upper: '<= ' })
    .filter((row) => byScenario.get(row.scenarioId)?.group === group)
    .map((row) => {
      const curve = byScenario.get(row.scenarioId)!;
      const censored = row.censoredText === '' ? row.interval : `(${row.censoredText})`;
      const ratio =
        row.baseline || row.ratioFigure === '–'
          ? ''
          : `; ${row.ratioFigure}x ${row.capacity.ratioToBaseline?.baseline ?? ''} ${row.ratioInterval}`;
      return `  capacity at ${row.slo}: ${curveServer(curve)} ${row.figure}/s ${censored}${ratio}`.trimEnd();
    });
}

/** Before latency curves are derived (or in a file without them): each rate result's own figures. */
function resultRows(s: ResultsFile['scenarios'][number]): string[] {
  const latency = s.summary?.latency ?? null;
  const valid = s.repetitions.filter((r) => r.verdict.valid).length;
  return [
    s.id,
    s.point.rateStep ?? '',
    s.point.offeredRate === null ? '-' : formatRate(s.point.offeredRate),
    s.summary?.requestsPerSecond == null ? '-' : formatRate(s.summary.requestsPerSecond.median),
    msText(latency?.p50Micros?.median),
    msText(latency?.p99Micros?.median),
    msText(latency?.p999Micros?.median),
    msText(latency?.maxMicros?.median),
    s.skipped === null ? `${valid}/${s.repetitions.length}` : `skipped: ${s.skipped}`,
  ];
}

/**
 * A rate sweep's tables, one per payload group: each server's latency at each offered rate
 * (medians over repetitions), then its capacity at each objective. Empty for closed-loop runs.
 */
export function rateTables(input: ResultsFile): string[] {
  const results = displayResults(input);
  if (results.plan.rates === null) return [];
  const groups = [...new Set(results.scenarios.map((s) => s.group))];
  return groups.flatMap((group) => {
    const curves = results.latencyCurves.filter((c) => c.group === group);
    const rows =
      curves.length > 0
        ? curves.flatMap(curveRows)
        : results.scenarios.filter((s) => s.group === group && s.point.rateStep !== null).map(resultRows);
    const skipped = results.scenarios.filter((s) => s.group === group && s.skipped !== null);
    return [
      `open loop, ${group}: latency against offered rate (medians over valid repetitions)`,
      ...alignedTable([RATE_HEADER, ...rows]),
      ...capacityLines(results, group),
      ...(curves.length > 0 ? skipped.map((s) => `  skipped ${s.id}: ${s.skipped}`) : []),
      '',
    ];
  });
}
