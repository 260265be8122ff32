import type { BenchEvent } from '@scaleup/bench';
import type { ResultsFile } from '@scaleup/core';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatRate(value: number): string {
  return integer.format(value);
}

/** One line per finished repetition: enough to follow a long run, quiet enough to read. */
export function repetitionLine(
  input: Omit<Extract<BenchEvent, { type: 'rep-done' }>, 'type' | 'etaSeconds'> & { eta: string | null },
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

function ci(low: number, high: number, format: (n: number) => string): string {
  return `[${format(low)}, ${format(high)}]`;
}

/** The final table: medians with their 95% CI, spread, ratio to the baseline, valid reps. */
export function summaryTable(results: ResultsFile): string {
  const header = [
    'scenario',
    'payload',
    'server',
    'req/s median',
    '95% CI',
    'cv',
    'MB/s',
    'vs nginx',
    '95% CI',
    'valid',
    'fairness',
  ];
  const rows: string[][] = [];
  for (const s of results.scenarios) {
    const server =
      s.server.kind === 'scaleup'
        ? `scaleup ${s.server.resource}`
        : s.server.kind === 'nginx'
          ? `nginx ${s.server.preset}`
          : 'command';
    if (s.skipped !== null || s.summary === null) {
      rows.push([s.id, `${s.payloadBytes} B`, server, `skipped: ${s.skipped ?? 'no repetitions'}`]);
      continue;
    }
    const rps = s.summary.requestsPerSecond;
    const mbps = s.summary.megabytesPerSecond;
    const ratio = s.summary.ratioToBaseline;
    rows.push([
      s.id,
      `${s.payloadBytes} B`,
      server,
      rps === null ? '-' : formatRate(rps.median),
      rps === null ? '-' : ci(rps.ciLow, rps.ciHigh, formatRate),
      rps === null ? '-' : `${(rps.cv * 100).toFixed(1)}%`,
      mbps === null ? '-' : twoDecimals.format(mbps.median),
      s.baseline ? 'baseline' : ratio === null ? '-' : `${ratio.ratio.toFixed(2)}x`,
      ratio === null ? '' : ci(ratio.ciLow, ratio.ciHigh, (n) => n.toFixed(2)),
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
          .map((c, i) => (i >= 3 && i <= 8 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
