import type { ResultsFile } from '@scaleup/core';
import type ExcelJS from 'exceljs';
import { displayResults, hasCosts, quotaNote } from './display.ts';
import type { Exporter, RenderContext } from './exporter.ts';
import { confidenceText } from './format.ts';
import {
  buildTable,
  concerns,
  costSeries,
  environmentPairs,
  HOST_COLUMNS,
  hostRows,
  intervalExplanation,
  METRICS,
  type Metric,
  machineLabel,
  metricLabel,
  metricTitle,
  payloadLabel,
  type ResultsTable,
  ratio,
  reportDate,
  runPairs,
  stat,
} from './model.ts';
import type { BarChartSpec } from './xlsx-charts.ts';
import { type CostOptions, costData, whiskerColumns } from './xlsx-costs.ts';
import { latencySheets } from './xlsx-latency.ts';
import { addProfileSheets } from './xlsx-profile.ts';
import { scalingSheet } from './xlsx-scaling.ts';
import {
  addColumns,
  addTable,
  type Cell,
  type Column,
  FORMATS,
  finishWorkbook,
  newWorkbook,
  sheetRef,
} from './xlsx-sheet.ts';
import { addMeasurementSheets, addScenarioSheets } from './xlsx-sheets.ts';

export { SCALING_SHEET } from './xlsx-scaling.ts';
export const DATA_SHEET = 'Data';
function chartSheetName(metric: Metric, payload: number): string {
  const what = metric === 'requestsPerSecond' ? 'Responses per s' : 'MB per s';
  return `${what}, ${payloadLabel(payload)}`.slice(0, 31);
}

type Row = ResultsTable['rows'][number];

interface DataColumns {
  columns: Column<Row>[];
  charts: BarChartSpec[];
}

/** The whisker columns of a headline chart. */
function headlineWhiskers(metric: Metric, payload: number): [Column<Row>, Column<Row>] {
  const what = `${metricLabel(metric)} ${payloadLabel(payload)}`;
  return whiskerColumns(what, FORMATS[metric], (row) => stat(row.cells.get(payload), metric));
}

/** The coverage each interval really reaches ('*': short of the level asked, too few repetitions). */
function confidenceColumns(payload: number): Column<Row>[] {
  return [
    {
      header: `Responses/s ${payloadLabel(payload)}: CI confidence`,
      value: (row) => {
        const st = stat(row.cells.get(payload), 'requestsPerSecond');
        return st ? confidenceText(st) : null;
      },
    },
    {
      header: `Ratio to nginx ${payloadLabel(payload)}: CI confidence`,
      value: (row) => {
        const r = ratio(row.cells.get(payload));
        return r ? confidenceText(r) : null;
      },
    },
  ];
}

/**
 * The seed's table turned sideways: one row per server, the four headline columns first
 * (responses/s and MB/s at each payload, the seed's chart titles), then their confidence
 * intervals, then the ratio to nginx on this machine.
 */
export function dataColumns(table: ResultsTable, costs: CostOptions | null = null): DataColumns {
  const columns: Column<Row>[] = [{ header: 'Server', value: (row) => row.label }];
  const headline: { metric: Metric; payload: number; column: number; whisker: number }[] = [];
  for (const metric of METRICS) {
    for (const payload of table.payloads) {
      headline.push({ metric, payload, column: columns.length, whisker: 0 });
      columns.push({
        header: metricTitle(metric, payload),
        format: FORMATS[metric],
        value: (row) => stat(row.cells.get(payload), metric)?.median ?? null,
      });
    }
  }
  for (const metric of METRICS) {
    for (const payload of table.payloads) {
      for (const bound of ['ciLow', 'ciHigh'] as const) {
        columns.push({
          header: `${metricLabel(metric)} ${payloadLabel(payload)}: CI ${bound === 'ciLow' ? 'low' : 'high'}`,
          format: FORMATS[metric],
          value: (row) => stat(row.cells.get(payload), metric)?.[bound] ?? null,
        });
      }
    }
  }
  for (const payload of table.payloads) {
    for (const part of ['ratio', 'ciLow', 'ciHigh'] as const) {
      columns.push({
        header: `Ratio to nginx ${payloadLabel(payload)}${part === 'ratio' ? '' : `: CI ${part === 'ciLow' ? 'low' : 'high'}`}`,
        format: FORMATS.ratio,
        value: (row) => ratio(row.cells.get(payload))?.[part] ?? null,
      });
    }
  }
  for (const payload of table.payloads) columns.push(...confidenceColumns(payload));
  for (const h of headline) {
    h.whisker = columns.length;
    columns.push(...headlineWhiskers(h.metric, h.payload));
  }
  for (const payload of table.payloads) {
    columns.push({
      header: `Valid repetitions ${payloadLabel(payload)}`,
      value: (row) => {
        const s = row.cells.get(payload);
        if (s === undefined) return null;
        return s.skipped !== null ? 'skipped' : (s.summary?.validRepetitions ?? 0);
      },
    });
  }
  const charts = headline.map((h) => barChart(table, h));
  // Last, so a run with costs keeps every other column where a run without them has it.
  if (costs !== null) {
    const cost = costData(table, columns.length, costs, DATA_SHEET);
    columns.push(...cost.columns);
    charts.push(...cost.charts);
  }
  return { columns, charts };
}

/** A native bar chart bound to a headline column of the Data sheet and its whisker columns. */
function barChart(
  table: ResultsTable,
  { metric, payload, column, whisker }: { metric: Metric; payload: number; column: number; whisker: number },
): BarChartSpec {
  const lastRow = 1 + table.rows.length;
  const stats = table.rows.map((row) => stat(row.cells.get(payload), metric));
  return {
    sheetName: chartSheetName(metric, payload),
    title: metricTitle(metric, payload),
    seriesNameRef: sheetRef(DATA_SHEET, column, 1),
    categoriesRef: sheetRef(DATA_SHEET, 0, 2, lastRow),
    valuesRef: sheetRef(DATA_SHEET, column, 2, lastRow),
    categories: table.rows.map((r) => r.label),
    values: stats.map((s) => s?.median ?? null),
    errors: {
      minusRef: sheetRef(DATA_SHEET, whisker, 2, lastRow),
      plusRef: sheetRef(DATA_SHEET, whisker + 1, 2, lastRow),
      minus: stats.map((s) => (s ? s.median - s.ciLow : null)),
      plus: stats.map((s) => (s ? s.ciHigh - s.median : null)),
    },
    formatCode: FORMATS[metric],
  };
}

export async function renderXlsx(input: ResultsFile, context: RenderContext = {}): Promise<Uint8Array> {
  const results = displayResults(input);
  const date = reportDate(results);
  const table = buildTable(results);
  const workbook = newWorkbook(date, `scaleup results ${results.run.id}`);
  const data = dataSheet(workbook, results, table);
  addScenarioSheets(workbook, results);
  const scaling = scalingSheet(workbook, results);
  const latency = latencySheets(workbook, results);
  addMeasurementSheets(workbook, results);
  addProfileSheets(workbook, results, context.profiles);
  runSheets(workbook, results);
  return finishWorkbook(workbook, [...data.charts, ...scaling, ...latency], date);
}

/** The seed's sheet: the headline table, then the notes a reader needs to trust it. */
function dataSheet(workbook: ExcelJS.Workbook, results: ResultsFile, table: ResultsTable): DataColumns {
  const costs = hasCosts(results)
    ? { series: costSeries(results), confidence: results.plan.confidenceTarget }
    : null;
  const data = dataColumns(table, costs);
  const sheet = addColumns(workbook, DATA_SHEET, data.columns, table.rows);
  sheet.getColumn(1).width = Math.max(24, ...table.rows.map((r) => r.label.length + 2));
  const notes = [
    `Machine: ${machineLabel(results)}; run ${results.run.id}, ${results.run.startedAt}; profile ${results.run.profile}, suite ${results.run.suite}.`,
    ...[quotaNote(results)].filter((note) => note !== null),
    `Figures are medians over valid repetitions. ${intervalExplanation(results)}`,
    'MB/s counts 10^6 bytes of succeeded responses, headers and body.',
    ...results.scenarios
      .filter((s) => s.skipped !== null)
      .map((s) => `Skipped ${s.id} (${s.label}): ${s.skipped}`),
  ];
  sheet.addRow([]);
  for (const note of notes) sheet.addRow([note]);
  return data;
}

/** Environment, other hosts, tuning checks and warnings. */
function runSheets(workbook: ExcelJS.Workbook, results: ResultsFile): void {
  const envRows: Cell[][] = [
    ...runPairs(results).map(([k, v]): Cell[] => ['Run', k, v]),
    ...environmentPairs(results).map(([k, v]): Cell[] => ['Environment', k, v]),
  ];
  addTable(workbook, 'Environment', ['Section', 'Item', 'Value'], envRows);
  if (results.hosts.length > 0) {
    addTable(workbook, 'Hosts', [...HOST_COLUMNS], hostRows(results));
  }
  addTable(
    workbook,
    'Tuning',
    ['Setting', 'Actual', 'Recommended', 'OK', 'What a shortfall limits', 'Fix'],
    results.tuning.map((t) => [t.setting, t.actual, t.recommended, t.ok, t.impact, t.fix]),
  );
  addTable(
    workbook,
    'Warnings',
    ['Scenario', 'Warning'],
    concerns(results).map((c) => [c.scenario, c.text]),
  );
}

export const xlsxExporter: Exporter = {
  name: 'xlsx',
  extension: '.xlsx',
  render: renderXlsx,
};
