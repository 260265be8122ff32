import type { ResultsFile, ScenarioResult } from '@scaleup/core';
import type ExcelJS from 'exceljs';
import { efficiencyView, hasCosts, isLowerBound, serverCpuView } from './display.ts';
import { confidenceText } from './format.ts';
import { describeServer, LATENCY_PERCENTILES, pointLabel } from './model.ts';
import { addColumns, type Column, ms } from './xlsx-sheet.ts';

/** The run's per-scenario sheets, each declared as its columns: header, format and value together. */

type Repetition = ScenarioResult['repetitions'][number];
type Worker = NonNullable<Repetition['workers']>[number];
type ProcessCpu = Repetition['serverCpu'][number];

const INTEGER = '#,##0';
const HUNDREDTHS = '#,##0.00';
const TENTHS = '#,##0.0';
const THOUSANDTHS = '0.000';
const PERCENT = '0.0%';

/** The first columns of every per-scenario sheet: which scenario a row belongs to. */
function scenarioColumns<Row>(of: (row: Row) => ScenarioResult): Column<Row>[] {
  return [
    { header: 'Scenario', value: (r) => of(r).id },
    { header: 'Label', value: (r) => of(r).label },
    { header: 'Payload (bytes)', value: (r) => of(r).payloadBytes },
  ];
}

function responseCheck(s: ScenarioResult): string | null {
  const v = s.verification;
  if (!v) return null;
  return `${v.ok ? 'ok' : 'FAILED'}: status ${v.status}, ${v.bodyBytes}/${v.expectedBodyBytes} bytes${v.detail ? `, ${v.detail}` : ''}`;
}

const rpsOf = (s: ScenarioResult) => s.summary?.requestsPerSecond ?? null;
const mbpsOf = (s: ScenarioResult) => s.summary?.megabytesPerSecond ?? null;
const ratioOf = (s: ScenarioResult) => s.summary?.ratioToBaseline ?? null;

const SCENARIO_COLUMNS: Column<ScenarioResult>[] = [
  ...scenarioColumns((s: ScenarioResult) => s),
  { header: 'Server', value: (s) => describeServer(s.server) },
  { header: 'Group', value: (s) => s.group },
  { header: 'Baseline', value: (s) => s.baseline },
  { header: 'Skipped', value: (s) => s.skipped },
  { header: 'Response check', value: responseCheck },
  {
    header: 'Warm-up responses/s',
    value: (s) => (s.warmup ? s.warmup.requestsPerSecond.map((v) => v.toFixed(0)).join(', ') : null),
  },
  { header: 'Valid reps', value: (s) => s.summary?.validRepetitions ?? null },
  { header: 'Invalid reps', value: (s) => s.summary?.invalidRepetitions ?? null },
  { header: 'Client-bound reps', value: (s) => s.summary?.clientBoundRepetitions ?? null },
  { header: 'Responses/s median', format: INTEGER, value: (s) => rpsOf(s)?.median ?? null },
  { header: 'Responses/s CI low', format: INTEGER, value: (s) => rpsOf(s)?.ciLow ?? null },
  { header: 'Responses/s CI high', format: INTEGER, value: (s) => rpsOf(s)?.ciHigh ?? null },
  { header: 'Responses/s mean', format: INTEGER, value: (s) => rpsOf(s)?.mean ?? null },
  { header: 'Responses/s stdev', format: INTEGER, value: (s) => rpsOf(s)?.stdev ?? null },
  { header: 'Responses/s CV', format: THOUSANDTHS, value: (s) => rpsOf(s)?.cv ?? null },
  { header: 'Responses/s min', format: INTEGER, value: (s) => rpsOf(s)?.min ?? null },
  { header: 'Responses/s max', format: INTEGER, value: (s) => rpsOf(s)?.max ?? null },
  { header: 'MB/s median', format: HUNDREDTHS, value: (s) => mbpsOf(s)?.median ?? null },
  { header: 'MB/s CI low', format: HUNDREDTHS, value: (s) => mbpsOf(s)?.ciLow ?? null },
  { header: 'MB/s CI high', format: HUNDREDTHS, value: (s) => mbpsOf(s)?.ciHigh ?? null },
  { header: 'Ratio to nginx', format: THOUSANDTHS, value: (s) => ratioOf(s)?.ratio ?? null },
  { header: 'Ratio CI low', format: THOUSANDTHS, value: (s) => ratioOf(s)?.ciLow ?? null },
  { header: 'Ratio CI high', format: THOUSANDTHS, value: (s) => ratioOf(s)?.ciHigh ?? null },
  { header: 'Ratio paired', value: (s) => ratioOf(s)?.paired ?? null },
  { header: 'Ratio n', value: (s) => ratioOf(s)?.n ?? null },
  { header: 'Baseline scenario', value: (s) => ratioOf(s)?.baseline ?? null },
  { header: 'Fairness (requests)', format: THOUSANDTHS, value: (s) => s.summary?.fairnessRequests ?? null },
  {
    header: 'Fairness (connections)',
    format: THOUSANDTHS,
    value: (s) => s.summary?.fairnessConnections ?? null,
  },
  { header: 'Point', value: (s) => pointLabel(s.point) },
  { header: 'Workers', value: (s) => s.point.workers },
  { header: 'Connections', value: (s) => s.point.connections },
  { header: 'Accept', value: (s) => s.point.accept },
  { header: 'Server CPUs', value: (s) => s.point.serverCpus?.join(',') ?? null },
  { header: 'Server host', value: (s) => s.serverHost },
  { header: 'Responses/s CI confidence', value: (s) => (rpsOf(s) ? confidenceText(rpsOf(s)!) : null) },
  { header: 'Ratio CI confidence', value: (s) => (ratioOf(s) ? confidenceText(ratioOf(s)!) : null) },
  { header: 'Ratio statistic', value: (s) => ratioOf(s)?.statistic ?? null },
  ...LATENCY_PERCENTILES.map(
    ([key, name]): Column<ScenarioResult> => ({
      header: `Latency ${name} median (ms)`,
      format: THOUSANDTHS,
      value: (s) => ms(s.summary?.latency?.[key]?.median ?? null),
    }),
  ),
  {
    header: 'Busiest worker share (requests)',
    format: PERCENT,
    value: (s) => s.summary?.busiestShareRequests ?? null,
  },
  {
    header: 'Busiest worker share (connections)',
    format: PERCENT,
    value: (s) => s.summary?.busiestShareConnections ?? null,
  },
  { header: 'Tool-saturated reps', value: (s) => s.summary?.toolSaturatedRepetitions ?? null },
  { header: 'Lower bound (tool saturated)', value: (s) => (s.summary === null ? null : isLowerBound(s)) },
];

const costOf = (s: ScenarioResult) => serverCpuView(s)?.stat ?? null;
const efficiencyOf = (s: ScenarioResult) => {
  const view = efficiencyView(s);
  return view.kind === 'ratio' ? view.ratio : null;
};

/** A run with costs: what a response cost the server, and the efficiency to nginx (never ≥). */
const COST_COLUMNS: Column<ScenarioResult>[] = [
  { header: 'Server CPU µs/response median', format: TENTHS, value: (s) => costOf(s)?.median ?? null },
  { header: 'Server CPU µs/response CI low', format: TENTHS, value: (s) => costOf(s)?.ciLow ?? null },
  { header: 'Server CPU µs/response CI high', format: TENTHS, value: (s) => costOf(s)?.ciHigh ?? null },
  {
    header: 'Server CPU µs/response CI confidence',
    value: (s) => (costOf(s) ? confidenceText(costOf(s)!) : null),
  },
  {
    header: 'Efficiency to nginx',
    format: THOUSANDTHS,
    value: (s) => (efficiencyView(s).kind === 'baseline' ? 'baseline' : (efficiencyOf(s)?.ratio ?? null)),
  },
  { header: 'Efficiency CI low', format: THOUSANDTHS, value: (s) => efficiencyOf(s)?.ciLow ?? null },
  { header: 'Efficiency CI high', format: THOUSANDTHS, value: (s) => efficiencyOf(s)?.ciHigh ?? null },
  {
    header: 'Efficiency CI confidence',
    value: (s) => (efficiencyOf(s) ? confidenceText(efficiencyOf(s)!) : null),
  },
  { header: 'Efficiency paired', value: (s) => efficiencyOf(s)?.paired ?? null },
];

type Cost = NonNullable<Repetition['cost']>;

/** Each repetition's own costs per successful response, in a run that recorded them. */
const REPETITION_COST_COLUMNS: Column<RepRow>[] = (
  [
    ['serverCpuMicrosPerResponse', 'Server CPU µs/response', TENTHS],
    ['toolCpuMicrosPerResponse', 'Tool CPU µs/response', TENTHS],
    ['serverSyscallsPerResponse', 'Server syscalls/response', HUNDREDTHS],
    ['serverContextSwitchesPerResponse', 'Server context switches/response', THOUSANDTHS],
  ] as const satisfies readonly (readonly [keyof Cost, string, string])[]
).map(([key, header, format]) => ({ header, format, value: ({ rep }) => rep.cost?.[key] ?? null }));

const LATENCY_PARTS = [
  ['median', 'median'],
  ['ciLow', 'CI low'],
  ['ciHigh', 'CI high'],
  ['min', 'min'],
  ['max', 'max'],
] as const;

const LATENCY_COLUMNS: Column<ScenarioResult>[] = [
  ...scenarioColumns((s: ScenarioResult) => s),
  { header: 'Point', value: (s) => pointLabel(s.point) },
  ...LATENCY_PERCENTILES.flatMap(([key, name]) =>
    LATENCY_PARTS.map(
      ([part, title]): Column<ScenarioResult> => ({
        header: `${name} ${title} (ms)`,
        format: THOUSANDTHS,
        value: (s) => ms(s.summary?.latency?.[key]?.[part] ?? null),
      }),
    ),
  ),
  { header: 'Repetitions', value: (s) => s.summary?.latency?.p99Micros?.n ?? null },
  { header: 'Upper bounds (merged hosts)', value: (s) => s.summary?.latency?.upperBound ?? null },
];

interface RepRow {
  s: ScenarioResult;
  rep: Repetition;
}

const REPETITION_COLUMNS: Column<RepRow>[] = [
  ...scenarioColumns((r: RepRow) => r.s),
  { header: 'Round', value: ({ rep }) => rep.round },
  { header: 'Started', value: ({ rep }) => rep.startedAt },
  { header: 'Valid', value: ({ rep }) => rep.verdict.valid },
  { header: 'Invalid because', value: ({ rep }) => rep.verdict.reasons.join('; ') },
  { header: 'Client-bound', value: ({ rep }) => rep.verdict.clientBound },
  { header: 'Client-bound because', value: ({ rep }) => rep.verdict.clientBoundReason },
  { header: 'Load tool', value: ({ rep }) => `${rep.load.tool} ${rep.load.toolVersion}` },
  { header: 'Elapsed (s)', format: '0.00', value: ({ rep }) => rep.load.elapsedSeconds },
  { header: 'Succeeded', value: ({ rep }) => rep.load.requests.succeeded },
  { header: 'Failed', value: ({ rep }) => rep.load.requests.failed },
  { header: 'Errored', value: ({ rep }) => rep.load.requests.errored },
  { header: 'Timed out', value: ({ rep }) => rep.load.requests.timedOut },
  {
    header: 'Non-2xx',
    value: ({ rep }) => {
      const c = rep.load.statusClasses;
      return c['1xx'] + c['3xx'] + c['4xx'] + c['5xx'];
    },
  },
  { header: 'Responses/s', format: INTEGER, value: ({ rep }) => rep.load.requestsPerSecond },
  { header: 'MB/s', format: HUNDREDTHS, value: ({ rep }) => rep.load.megabytesPerSecond },
  ...(
    [
      ['p50Micros', 'p50'],
      ['p75Micros', 'p75'],
      ['p90Micros', 'p90'],
      ['p99Micros', 'p99'],
      ['p999Micros', 'p99.9'],
      ['maxMicros', 'max'],
    ] as const
  ).map(
    ([key, name]): Column<RepRow> => ({
      header: `Latency ${name} (ms)`,
      format: THOUSANDTHS,
      value: ({ rep }) => ms(rep.load.latency[key]),
    }),
  ),
  { header: 'Tool CPU user (s)', format: '0.00', value: ({ rep }) => rep.load.toolCpu?.userSeconds ?? null },
  {
    header: 'Tool CPU system (s)',
    format: '0.00',
    value: ({ rep }) => rep.load.toolCpu?.systemSeconds ?? null,
  },
  {
    header: 'Tool CPU utilisation',
    format: PERCENT,
    value: ({ rep }) => rep.load.toolCpu?.utilisation ?? null,
  },
  { header: 'Server CPU utilisation', format: PERCENT, value: ({ rep }) => rep.serverCpuUtilisation },
  { header: 'Listen overflows', value: ({ rep }) => rep.tcp?.listenOverflows ?? null },
  { header: 'Listen drops', value: ({ rep }) => rep.tcp?.listenDrops ?? null },
  { header: 'Resets sent', value: ({ rep }) => rep.tcp?.resetsSent ?? null },
  { header: 'Retransmitted segments', value: ({ rep }) => rep.tcp?.retransmittedSegments ?? null },
  { header: 'Hypervisor steal', format: PERCENT, value: ({ rep }) => rep.stealFraction },
  { header: 'Errors', value: ({ rep }) => rep.load.errors.join('; ') },
];

interface WorkerRow extends RepRow {
  w: Worker;
  totalRequests: number;
  totalConnections: number;
}

const WORKER_COLUMNS: Column<WorkerRow>[] = [
  ...scenarioColumns((r: WorkerRow) => r.s),
  { header: 'Round', value: ({ rep }) => rep.round },
  { header: 'Worker slot', value: ({ w }) => w.slot },
  { header: 'PID', value: ({ w }) => w.pid },
  { header: 'Requests', format: INTEGER, value: ({ w }) => w.requests },
  {
    header: 'Share of requests',
    format: PERCENT,
    value: ({ w, totalRequests }) => (totalRequests > 0 ? w.requests / totalRequests : null),
  },
  { header: 'Connections', value: ({ w }) => w.connections },
  {
    header: 'Share of connections',
    format: PERCENT,
    value: ({ w, totalConnections }) => (totalConnections > 0 ? w.connections / totalConnections : null),
  },
];

interface CpuRow extends RepRow {
  p: ProcessCpu;
}

const CPU_COLUMNS: Column<CpuRow>[] = [
  ...scenarioColumns((r: CpuRow) => r.s),
  { header: 'Round', value: ({ rep }) => rep.round },
  { header: 'PID', value: ({ p }) => p.pid },
  { header: 'Role', value: ({ p }) => p.role },
  { header: 'User (s)', format: '0.00', value: ({ p }) => p.userSeconds },
  { header: 'System (s)', format: '0.00', value: ({ p }) => p.systemSeconds },
  { header: 'Total (s)', format: '0.00', value: ({ p }) => p.userSeconds + p.systemSeconds },
];

function repetitionsOf(results: ResultsFile): RepRow[] {
  return results.scenarios.flatMap((s) => s.repetitions.map((rep) => ({ s, rep })));
}

/** Scenarios and Latency: one row per scenario. */
export function addScenarioSheets(workbook: ExcelJS.Workbook, results: ResultsFile): void {
  const costs = hasCosts(results) ? COST_COLUMNS : [];
  addColumns(workbook, 'Scenarios', [...SCENARIO_COLUMNS, ...costs], results.scenarios);
  addColumns(
    workbook,
    'Latency',
    LATENCY_COLUMNS,
    results.scenarios.filter((s) => s.summary?.latency != null),
  );
}

/** Repetitions, Workers and Process CPU: one row per round, worker or process. */
export function addMeasurementSheets(workbook: ExcelJS.Workbook, results: ResultsFile): void {
  const reps = repetitionsOf(results);
  const costs = reps.some(({ rep }) => rep.cost !== undefined) ? REPETITION_COST_COLUMNS : [];
  addColumns(workbook, 'Repetitions', [...REPETITION_COLUMNS, ...costs], reps);
  addColumns(
    workbook,
    'Workers',
    WORKER_COLUMNS,
    reps.flatMap(({ s, rep }) => {
      const workers = rep.workers ?? [];
      const totalRequests = workers.reduce((sum, w) => sum + w.requests, 0);
      const totalConnections = workers.reduce((sum, w) => sum + w.connections, 0);
      return workers.map((w) => ({ s, rep, w, totalRequests, totalConnections }));
    }),
  );
  addColumns(
    workbook,
    'Process CPU',
    CPU_COLUMNS,
    reps.flatMap(({ s, rep }) => rep.serverCpu.map((p) => ({ s, rep, p }))),
  );
}
