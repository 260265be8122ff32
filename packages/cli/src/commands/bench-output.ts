import type { BenchEvent } from '@scaleup/bench';
import { minimumRepetitionsFor, type ResultsFile } from '@scaleup/core';

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
    : `INVALID: ${rep.verdict.reasons.slice(0, 2).join('; ')}`;
  return [
    `[${String(input.index).padStart(width)}/${input.runs}]`,
    input.scenarioId.padEnd(8),
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
      : `widest interval ±${(stop.worstHalfWidth * 100).toFixed(1)}% (${stop.worstResult})`;
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
  return `${stop.group}: after ${stop.rounds} rounds ${widest}${target}: ${outcome}`;
}

/** An interval with the confidence it really has; a `*` marks one below the level asked for. */
export function intervalText(
  estimate: { ciLow: number; ciHigh: number; confidence: number; confidenceTarget: number },
  format: (n: number) => string,
): string {
  if (estimate.confidence === 0) return 'one value: no interval*';
  const short = estimate.confidence < estimate.confidenceTarget;
  return `[${format(estimate.ciLow)}, ${format(estimate.ciHigh)}] ${Math.floor(estimate.confidence * 1000) / 10}%${short ? '*' : ''}`;
}

/** The final table: medians with their intervals, spread, ratio to the baseline, p99, valid reps. */
export function summaryTable(results: ResultsFile): string {
  const header = [
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
  const rows: string[][] = [];
  let short = false;
  let lowerBound = false;
  for (const s of results.scenarios) {
    const server =
      s.server.kind === 'scaleup'
        ? `scaleup ${s.server.resource}`
        : s.server.kind === 'nginx'
          ? `nginx ${s.server.preset}`
          : s.server.kind === 'imported'
            ? s.label
            : 'command';
    if (s.skipped !== null || s.summary === null) {
      rows.push([s.id, `${s.payloadBytes} B`, server, `skipped: ${s.skipped ?? 'no repetitions'}`]);
      continue;
    }
    const rps = s.summary.requestsPerSecond;
    const mbps = s.summary.megabytesPerSecond;
    const ratio = s.summary.ratioToBaseline;
    const p99 = s.summary.latency?.p99Micros ?? null;
    const bound = s.summary.lowerBound ? '>=' : '';
    if (
      (rps !== null && rps.confidence < rps.confidenceTarget) ||
      (ratio !== null && ratio.confidence < ratio.confidenceTarget)
    )
      short = true;
    if (s.summary.lowerBound) lowerBound = true;
    rows.push([
      s.id,
      `${s.payloadBytes} B`,
      server,
      rps === null ? '-' : `${bound}${formatRate(rps.median)}`,
      rps === null ? '-' : intervalText(rps, formatRate),
      rps === null ? '-' : `${(rps.cv * 100).toFixed(1)}%`,
      mbps === null ? '-' : twoDecimals.format(mbps.median),
      s.baseline ? 'baseline' : ratio === null ? '-' : `${bound}${ratio.ratio.toFixed(2)}x`,
      ratio === null ? '' : intervalText(ratio, (n) => n.toFixed(2)),
      p99 === null ? '' : `${s.summary.latency?.upperBound ? '<=' : ''}${(p99.median / 1000).toFixed(2)}`,
      `${s.summary.validRepetitions}/${s.repetitions.length}`,
      s.summary.fairnessRequests === null ? '' : s.summary.fairnessRequests.toFixed(3),
    ]);
  }
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((r) => r.length > 4).map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells.length <= 4
      ? cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ')
      : cells
          .map((c, i) => (i >= 3 && i <= 9 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd();
  const target = Math.round(results.plan.confidenceTarget * 100);
  const notes = [
    `intervals: order-statistic (distribution-free) intervals of the median, with the confidence each really has; vs nginx is the median of per-round ratios`,
  ];
  if (short) {
    notes.push(
      `* too few repetitions for ${target}%: the interval is min..max and covers the median only with the confidence shown (>= ${minimumRepetitionsFor(results.plan.confidenceTarget)} valid rounds reach ${target}%)`,
    );
  }
  if (lowerBound)
    notes.push('>= the load tool was saturated in most repetitions: the figure is a lower bound');
  const adaptive = results.stopping.filter((g) => g.stoppedBy !== 'fixed');
  if (adaptive.length > 0) {
    const why: Record<string, string> = {
      'target-reached': 'target reached',
      'max-repetitions': '--max-reps reached',
      'time-budget': 'time budget spent',
      interrupted: 'interrupted',
    };
    const groups = adaptive.map(
      (g) =>
        `${g.group} ${g.rounds} (${why[g.stoppedBy] ?? g.stoppedBy}${g.worstHalfWidth === null ? '' : `, widest ±${(g.worstHalfWidth * 100).toFixed(1)}% ${g.worstResult}`})`,
    );
    notes.push(`rounds: ${groups.join('; ')}`);
  }
  return [line(header), ...rows.map(line), '', ...notes].join('\n');
}

/** One line per scaling curve: throughput at each worker count, speedup with its interval, where it stops rising. */
export function scalingLines(results: ResultsFile): string[] {
  return results.scaling.map((curve) => {
    const points = curve.points.map((p) => {
      const rps = p.requestsPerSecond === null ? '-' : formatRate(p.requestsPerSecond);
      const bound = p.lowerBound ? '>=' : '';
      if (p.workers === curve.baseWorkers || p.speedup === null) return `w${p.workers} ${bound}${rps}`;
      return `w${p.workers} ${bound}${rps} (speedup ${p.speedup.value.toFixed(2)} ${intervalText(
        {
          ciLow: p.speedup.ciLow,
          ciHigh: p.speedup.ciHigh,
          confidence: p.speedup.confidence,
          confidenceTarget: p.speedup.confidenceTarget,
        },
        (n) => n.toFixed(2),
      )}, efficiency ${p.efficiency?.value.toFixed(2) ?? '-'})`;
    });
    const accept = curve.accept === null ? '' : `, ${curve.accept}`;
    const stops =
      curve.stopsRisingAt === null
        ? ''
        : `; stops rising after ${curve.stopsRisingAt} worker${curve.stopsRisingAt === 1 ? '' : 's'}`;
    return `scaling ${curve.scenarioId} ${curve.payloadBytes} B, ${curve.connections} connections${accept}: ${points.join('; ')}${stops}`;
  });
}
