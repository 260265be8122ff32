import type ExcelJS from 'exceljs';
import { capacityCellText, comparedLatency } from './compare-latency.ts';
import {
  type Comparison,
  changeText,
  comparedEfficiency,
  comparisonHasCosts,
  costMessages,
  type PartialScenario,
  protocolPairs,
} from './compare-model.ts';
import { NO_COST_DATA } from './display.ts';
import { confidenceText } from './format.ts';
import type { ScatterChartSpec } from './xlsx-charts.ts';
import {
  addColumns,
  addTable,
  type Column,
  FORMATS,
  finishWorkbook,
  newWorkbook,
  sheetRef,
} from './xlsx-sheet.ts';

/** The comparison as a workbook: ratios, medians, curves, protocol, gaps, environment, runs. */

const SCENARIO_COLUMNS: Column<PartialScenario>[] = [
  { header: 'Scenario', value: (s) => s.id },
  { header: 'Label', value: (s) => s.label },
  { header: 'Payload (bytes)', value: (s) => s.payloadBytes },
];

const ratioOf = (s: PartialScenario, run: number) => s.perRun[run]?.summary?.ratioToBaseline ?? null;

/**
 * A run's efficiency to nginx beside its ratio: the figure, its interval and confidence; "n/a" in
 * each where the run recorded no costs (never 0, never blank as if unmeasured here by chance).
 */
function efficiencyColumns(comparison: Comparison, run: number): Column<PartialScenario>[] {
  const label = comparison.runs[run]!.label;
  const view = (s: PartialScenario) => comparedEfficiency(comparison, s, run);
  const cell =
    (pick: (r: { ratio: number; ciLow: number; ciHigh: number; text: string }) => number | string) =>
    (s: PartialScenario) => {
      const e = view(s);
      if (e.kind === 'no-costs') return NO_COST_DATA;
      if (e.kind !== 'ratio') return null;
      return pick({ ...e.ratio, text: confidenceText(e.ratio) });
    };
  return [
    { header: `${label}: efficiency to nginx`, format: FORMATS.ratio, value: cell((e) => e.ratio) },
    { header: `${label}: efficiency CI low`, format: FORMATS.ratio, value: cell((e) => e.ciLow) },
    { header: `${label}: efficiency CI high`, format: FORMATS.ratio, value: cell((e) => e.ciHigh) },
    { header: `${label}: efficiency confidence`, value: cell((e) => e.text) },
  ];
}

/** Per run its ratio with the interval and confidence; later runs their change against the first. */
function ratioColumns(comparison: Comparison): Column<PartialScenario>[] {
  const { runs } = comparison;
  const costs = comparisonHasCosts(comparison);
  const changeOf = (key: string, run: number) =>
    comparison.shared.find((s) => s.key === key)?.change[run] ?? null;
  const perRun = runs.flatMap((run, i): Column<PartialScenario>[] => [
    {
      header: `${run.label}: ratio to nginx`,
      format: FORMATS.ratio,
      value: (s) => ratioOf(s, i)?.ratio ?? null,
    },
    { header: `${run.label}: CI low`, format: FORMATS.ratio, value: (s) => ratioOf(s, i)?.ciLow ?? null },
    { header: `${run.label}: CI high`, format: FORMATS.ratio, value: (s) => ratioOf(s, i)?.ciHigh ?? null },
    {
      header: `${run.label}: confidence`,
      value: (s) => {
        const r = ratioOf(s, i);
        return r ? confidenceText(r) : null;
      },
    },
    ...(costs ? efficiencyColumns(comparison, i) : []),
    ...(i === 0
      ? []
      : [
          {
            header: `${run.label}: vs ${runs[0]!.label}`,
            value: (s: PartialScenario) => {
              const change = changeOf(s.key, i);
              if (change !== null) return changeText(change);
              return comparison.protocolDiff.length > 0 ? 'different protocol' : null;
            },
          },
        ]),
  ]);
  const spread: Column<PartialScenario> = {
    header: 'Highest / lowest ratio',
    format: FORMATS.ratio,
    value: (s) => {
      const values = s.perRun.flatMap((x) => {
        const r = x?.summary?.ratioToBaseline ?? null;
        return r ? [r.ratio] : [];
      });
      return values.length === runs.length && Math.min(...values) > 0
        ? Math.max(...values) / Math.min(...values)
        : null;
    },
  };
  return [...SCENARIO_COLUMNS, ...perRun, spread];
}

/** Per metric and run: the median and its interval. */
function medianColumns(comparison: Comparison): Column<PartialScenario>[] {
  const perRun = (['requestsPerSecond', 'megabytesPerSecond'] as const).flatMap((metric) => {
    const name = metric === 'requestsPerSecond' ? 'Responses/s' : 'MB/s';
    return comparison.runs.flatMap((run, i) =>
      (
        [
          ['median', 'median'],
          ['CI low', 'ciLow'],
          ['CI high', 'ciHigh'],
        ] as const
      ).map(
        ([part, key]): Column<PartialScenario> => ({
          header: `${run.label}: ${name} ${part}`,
          format: FORMATS[metric],
          value: (s) => s.perRun[i]?.summary?.[metric]?.[key] ?? null,
        }),
      ),
    );
  });
  return [...SCENARIO_COLUMNS, ...perRun];
}

export async function renderComparisonXlsx(comparison: Comparison): Promise<Uint8Array> {
  const { runs, rows } = comparison;
  const workbook = newWorkbook(
    comparison.date,
    `scaleup comparison of ${runs.map((r) => r.label).join(', ')}`,
  );
  const ratios = addColumns(
    workbook,
    'Ratios to nginx',
    ratioColumns(comparison),
    rows.filter((s) => !s.baseline),
  );
  // What efficiency is, which runs have no cost data, and what a quota makes of responses/s.
  const notes = costMessages(comparison);
  if (notes.length > 0) ratios.addRow([]);
  for (const note of notes) ratios.addRow([note]);
  addColumns(workbook, 'Medians', medianColumns(comparison), rows);
  const latency = latencySheets(workbook, comparison);
  addOtherSheets(workbook, comparison);
  return finishWorkbook(workbook, latency, comparison.date);
}

const LATENCY_SHEET = 'Latency curves';
const LINE_COLOURS = ['4F81BD', 'C0504D', '9BBB59', '8064A2', '4BACC6', 'F79646'];

/**
 * Open-loop rate sweeps: every machine's p99 at each offered rate in one table, a native chart
 * per scenario with a series per machine bound to it, and the capacities side by side.
 */
function latencySheets(workbook: ExcelJS.Workbook, comparison: Comparison): ScatterChartSpec[] {
  const latency = comparedLatency(comparison.runs);
  const names = comparison.runs.map((r) => r.label);
  if (latency.capacities.length > 0) {
    addTable(
      workbook,
      'Capacity at SLO',
      ['Scenario', 'Payload (bytes)', 'Objective', ...names],
      latency.capacities.map((c) => [c.label, c.payloadBytes, c.slo, ...c.perRun.map(capacityCellText)]),
    );
  }
  if (latency.curves.length === 0) return [];
  const rows = latency.curves.flatMap((c) =>
    names.flatMap((run) => c.points.filter((p) => p.run === run).map((p) => ({ c, p }))),
  );
  addTable(
    workbook,
    LATENCY_SHEET,
    [
      'Scenario',
      'Run',
      'Rate step',
      'Offered responses/s',
      'p99 (ms)',
      'p99 CI low',
      'p99 CI high',
      'Kept up',
    ],
    rows.map(({ c, p }) => [c.label, p.run, p.rateStep, p.offeredPerSecond, p.p99, p.low, p.high, !p.behind]),
    { 3: FORMATS.requestsPerSecond, 4: '0.000', 5: '0.000', 6: '0.000' },
  );
  return latency.curves.map((curve, n): ScatterChartSpec => {
    const series = names.flatMap((run, i) => {
      const first = rows.findIndex((r) => r.c === curve && r.p.run === run);
      if (first < 0) return [];
      const own = curve.points.filter((p) => p.run === run);
      const [top, bottom] = [first + 2, first + 1 + own.length];
      return [
        {
          nameRef: sheetRef(LATENCY_SHEET, 1, top),
          name: run,
          xRef: sheetRef(LATENCY_SHEET, 3, top, bottom),
          yRef: sheetRef(LATENCY_SHEET, 4, top, bottom),
          x: own.map((p) => p.offeredPerSecond),
          y: own.map((p) => p.p99),
          colour: LINE_COLOURS[i % LINE_COLOURS.length]!,
          style: 'solid' as const,
        },
      ];
    });
    return {
      kind: 'scatter',
      sheetName: `p99 vs load ${n + 1}`,
      title: `p99 against offered load: ${curve.label}`,
      xTitle: 'Offered responses/s',
      yTitle: 'p99 (ms, log scale)',
      logX: false,
      logY: true,
      xFormat: '#,##0',
      yFormat: 'General',
      series,
    };
  });
}

/** Curves, protocol, the scenarios not shared, the environment differences and the runs. */
function addOtherSheets(workbook: ExcelJS.Workbook, comparison: Comparison): void {
  const { runs } = comparison;
  if (comparison.curves.length > 0) {
    addTable(
      workbook,
      'Curves',
      [
        'Curve',
        'Axis',
        'Run',
        'Workers or connections',
        'Ratio to nginx',
        'CI low',
        'CI high',
        'Lower bound',
      ],
      comparison.curves.flatMap((c) =>
        c.points.map((p) => [c.label, c.axis, p.run, p.x, p.ratio, p.ciLow, p.ciHigh, p.lowerBound]),
      ),
      { 4: FORMATS.ratio, 5: FORMATS.ratio, 6: FORMATS.ratio },
    );
  }
  addTable(
    workbook,
    'Protocol',
    ['Item', ...runs.map((r) => r.label), 'Same'],
    protocolPairs(runs[0]!.results).map(([item]) => {
      const values = runs.map((r) => new Map(protocolPairs(r.results)).get(item) ?? '(absent)');
      return [item, ...values, new Set(values).size === 1 ? 'yes' : 'NO'];
    }),
  );
  addTable(
    workbook,
    'Not shared',
    ['Scenario', 'Payload (bytes)', ...runs.map((r) => r.label)],
    comparison.unshared.map((u) => [u.label, u.payloadBytes, ...u.status]),
  );
  addTable(
    workbook,
    'Environment diff',
    ['Item', ...runs.map((r) => r.label)],
    comparison.environmentDiff.map((d) => [d.item, ...d.values]),
  );
  addTable(
    workbook,
    'Runs',
    ['Label', 'Results file', 'Hostname', 'CPU model', 'Run id', 'Started', 'Profile', 'Suite', 'Complete'],
    runs.map((r) => [
      r.label,
      r.path,
      r.results.environment.hostname,
      r.results.environment.cpuModel,
      r.results.run.id,
      r.results.run.startedAt,
      r.results.run.profile,
      r.results.run.suite,
      r.results.complete,
    ]),
  );
}
