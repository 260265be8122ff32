import type { ResultsFile, ScalingCurve, ScenarioResult } from '@scaleup/core';
import type ExcelJS from 'exceljs';
import { isLowerBound } from './display.ts';
import { confidenceText } from './format.ts';
import { type ConcurrencyCurve, concurrencyCurves, curveLabel, payloadLabel, sweptAxes } from './model.ts';
import type { LineChartSpec } from './xlsx-charts.ts';
import { addColumns, type Column, ms, sheetRef } from './xlsx-sheet.ts';

export const SCALING_SHEET = 'Scaling';

const LINE_COLOURS = ['4F81BD', 'C0504D', '9BBB59', '8064A2', '4BACC6', 'F79646', '2C4D75', '772C2A'];

type CurvePoint = { curve: ScalingCurve; point: ScalingCurve['points'][number] };
interface ScalingRow {
  s: ScenarioResult;
  c: CurvePoint | undefined;
}

const rpsOf = (s: ScenarioResult) => s.summary?.requestsPerSecond ?? null;
const ratioOf = (s: ScenarioResult) => s.summary?.ratioToBaseline ?? null;

const SCALING_COLUMNS: Column<ScalingRow>[] = [
  { header: 'Scenario', value: ({ s }) => s.scenarioId },
  { header: 'Label', value: ({ s }) => s.label },
  { header: 'Payload (bytes)', value: ({ s }) => s.payloadBytes },
  { header: 'Workers', value: ({ s }) => s.point.workers },
  { header: 'Connections', value: ({ s }) => s.point.connections },
  { header: 'Accept', value: ({ s }) => s.point.accept },
  { header: 'Server CPUs', value: ({ s }) => s.point.serverCpus?.join(',') ?? null },
  { header: 'Responses/s median', format: '#,##0', value: ({ s }) => rpsOf(s)?.median ?? null },
  { header: 'Responses/s CI low', format: '#,##0', value: ({ s }) => rpsOf(s)?.ciLow ?? null },
  { header: 'Responses/s CI high', format: '#,##0', value: ({ s }) => rpsOf(s)?.ciHigh ?? null },
  { header: 'CI confidence', value: ({ s }) => (rpsOf(s) ? confidenceText(rpsOf(s)!) : null) },
  { header: 'Ratio to nginx', format: '0.000', value: ({ s }) => ratioOf(s)?.ratio ?? null },
  { header: 'Ratio CI low', format: '0.000', value: ({ s }) => ratioOf(s)?.ciLow ?? null },
  { header: 'Ratio CI high', format: '0.000', value: ({ s }) => ratioOf(s)?.ciHigh ?? null },
  { header: 'Speedup', format: '0.00', value: ({ c }) => c?.point.speedup?.value ?? null },
  { header: 'Speedup CI low', format: '0.00', value: ({ c }) => c?.point.speedup?.ciLow ?? null },
  { header: 'Speedup CI high', format: '0.00', value: ({ c }) => c?.point.speedup?.ciHigh ?? null },
  { header: 'Efficiency', format: '0.00', value: ({ c }) => c?.point.efficiency?.value ?? null },
  { header: 'Efficiency CI low', format: '0.00', value: ({ c }) => c?.point.efficiency?.ciLow ?? null },
  { header: 'Efficiency CI high', format: '0.00', value: ({ c }) => c?.point.efficiency?.ciHigh ?? null },
  { header: 'Fairness (requests)', format: '0.000', value: ({ s }) => s.summary?.fairnessRequests ?? null },
  {
    header: 'Fairness (connections)',
    format: '0.000',
    value: ({ s }) => s.summary?.fairnessConnections ?? null,
  },
  {
    header: 'Busiest worker share (requests)',
    format: '0.0%',
    value: ({ s }) => s.summary?.busiestShareRequests ?? null,
  },
  {
    header: 'Busiest worker share (connections)',
    format: '0.0%',
    value: ({ s }) => s.summary?.busiestShareConnections ?? null,
  },
  {
    header: 'p99 median (ms)',
    format: '0.000',
    value: ({ s }) => ms(s.summary?.latency?.p99Micros?.median ?? null),
  },
  { header: 'Lower bound (tool saturated)', value: ({ s }) => (s.summary === null ? null : isLowerBound(s)) },
  { header: 'Skipped', value: ({ s }) => s.skipped },
];

interface Series {
  name: string;
  values: (number | null)[];
  dashed: boolean;
  colour: string;
}

/**
 * The small tables the native line charts are bound to, one block after another below the
 * Scaling sheet's main table: a title, a header row, a row per category.
 */
class ChartBlocks {
  private next: number;
  constructor(
    private readonly sheet: ExcelJS.Worksheet,
    mainRows: number,
  ) {
    // Chart tables start two rows below the main table.
    this.next = mainRows + 3;
  }

  add(title: string, categoriesTitle: string, categories: number[], series: Series[]) {
    const top = this.next;
    this.sheet.getRow(top).values = [title];
    this.sheet.getRow(top).font = { bold: true };
    this.sheet.getRow(top + 1).values = [categoriesTitle, ...series.map((s) => s.name)];
    categories.forEach((category, i) => {
      this.sheet.getRow(top + 2 + i).values = [category, ...series.map((s) => s.values[i] ?? undefined)];
    });
    this.next = top + 3 + categories.length;
    const first = top + 2;
    const last = top + 1 + categories.length;
    return {
      categoriesRef: sheetRef(SCALING_SHEET, 0, first, last),
      series: series.map((s, i) => ({
        ...s,
        nameRef: sheetRef(SCALING_SHEET, i + 1, top + 1),
        valuesRef: sheetRef(SCALING_SHEET, i + 1, first, last),
      })),
    };
  }
}

/** Responses/s against workers, each curve with its ideal linear line (dashed). */
function workersChart(blocks: ChartBlocks, results: ResultsFile): LineChartSpec {
  const workers = [...new Set(results.scaling.flatMap((c) => c.points.map((p) => p.workers)))].sort(
    (a, b) => a - b,
  );
  const series = results.scaling.flatMap((curve, i): Series[] => {
    const at = (w: number) => curve.points.find((p) => p.workers === w);
    const base = curve.points[0]?.requestsPerSecond ?? null;
    const colour = LINE_COLOURS[i % LINE_COLOURS.length]!;
    return [
      {
        name: curveLabel(curve),
        values: workers.map((w) => at(w)?.requestsPerSecond ?? null),
        dashed: false,
        colour,
      },
      {
        name: `ideal linear: ${curve.label}, ${payloadLabel(curve.payloadBytes)}`,
        values: workers.map((w) =>
          base === null || at(w) === undefined ? null : (base * w) / curve.baseWorkers,
        ),
        dashed: true,
        colour,
      },
    ];
  });
  const refs = blocks.add('Responses/s against workers (chart data)', 'Workers', workers, series);
  return {
    kind: 'line',
    sheetName: 'Scaling, workers',
    title: 'Served responses/s against workers (dashed: linear scaling from the fewest workers)',
    xTitle: 'Workers',
    yTitle: 'Responses/s',
    categoriesRef: refs.categoriesRef,
    categories: workers.map(String),
    series: refs.series,
    formatCode: '#,##0',
  };
}

const CONNECTION_CHARTS = [
  {
    what: 'Responses/s',
    value: (s: ScenarioResult) => s.summary?.requestsPerSecond?.median ?? null,
    format: '#,##0',
    sheetName: 'Scaling, connections',
  },
  {
    what: 'p99 latency (ms)',
    value: (s: ScenarioResult) => ms(s.summary?.latency?.p99Micros?.median ?? null),
    format: '0.00',
    sheetName: 'Scaling, p99',
  },
] as const;

/** Responses/s and p99 against connections, one series per concurrency curve. */
function connectionCharts(blocks: ChartBlocks, concurrency: ConcurrencyCurve[]): LineChartSpec[] {
  const connections = [...new Set(concurrency.flatMap((c) => c.points.map((p) => p.connections)))].sort(
    (a, b) => a - b,
  );
  return CONNECTION_CHARTS.map(({ what, value, format, sheetName }): LineChartSpec => {
    const series = concurrency.map((curve, i) => ({
      name: curve.label,
      values: connections.map((n) => {
        const p = curve.points.find((x) => x.connections === n);
        return p === undefined ? null : value(p.result);
      }),
      dashed: false,
      colour: LINE_COLOURS[i % LINE_COLOURS.length]!,
    }));
    const refs = blocks.add(`${what} against connections (chart data)`, 'Connections', connections, series);
    return {
      kind: 'line',
      sheetName,
      title: `${what} against concurrent connections`,
      xTitle: 'Connections',
      yTitle: what,
      categoriesRef: refs.categoriesRef,
      categories: connections.map(String),
      series: refs.series,
      formatCode: format,
    };
  });
}

/**
 * The Scaling sheet (one row per scenario and point: medians, intervals, speedup, efficiency,
 * fairness) and, below it, the small tables the native line charts are bound to: responses/s
 * against workers with the ideal linear line, and responses/s and p99 against connections.
 */
export function scalingSheet(workbook: ExcelJS.Workbook, results: ResultsFile): LineChartSpec[] {
  const axes = sweptAxes(results);
  if (!axes.any) return [];
  const curveOf = new Map<string, CurvePoint>();
  for (const curve of results.scaling)
    for (const point of curve.points) curveOf.set(point.resultId, { curve, point });
  const rows = results.scenarios.map((s) => ({ s, c: curveOf.get(s.id) }));
  const blocks = new ChartBlocks(addColumns(workbook, SCALING_SHEET, SCALING_COLUMNS, rows), rows.length);
  const charts: LineChartSpec[] = [];
  if (axes.workers && results.scaling.length > 0) charts.push(workersChart(blocks, results));
  const concurrency = concurrencyCurves(results);
  if (axes.connections && concurrency.length > 0) charts.push(...connectionCharts(blocks, concurrency));
  return charts;
}
