import type { ResultsFile } from '@scaleup/core';
import type ExcelJS from 'exceljs';
import { displayResults } from './display.ts';
import type { Exporter } from './exporter.ts';
import { confidenceText } from './format.ts';
import {
  buildTable,
  concerns,
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
import { scalingSheet } from './xlsx-scaling.ts';
import { addTable, type Cell, FORMATS, finishWorkbook, newWorkbook, sheetRef } from './xlsx-sheet.ts';
import { addMeasurementSheets, addScenarioSheets } from './xlsx-sheets.ts';

export { SCALING_SHEET } from './xlsx-scaling.ts';
export const DATA_SHEET = 'Data';
function chartSheetName(metric: Metric, payload: number): string {
  const what = metric === 'requestsPerSecond' ? 'Responses per s' : 'MB per s';
  return `${what}, ${payloadLabel(payload)}`.slice(0, 31);
}

interface DataColumns {
  header: string[];
  rows: Cell[][];
  formats: Record<number, string>;
  charts: BarChartSpec[];
}

/**
 * The seed's table turned sideways: one row per server, the four headline columns first
 * (responses/s and MB/s at each payload, the seed's chart titles), then their confidence
 * intervals, then the ratio to nginx on this machine.
 */
export function dataColumns(table: ResultsTable): DataColumns {
  const header = ['Server'];
  const formats: Record<number, string> = {};
  const columns: ((row: ResultsTable['rows'][number]) => Cell)[] = [];
  const headline: { metric: Metric; payload: number; column: number }[] = [];
  for (const metric of METRICS) {
    for (const payload of table.payloads) {
      headline.push({ metric, payload, column: header.length });
      formats[header.length] = FORMATS[metric];
      header.push(metricTitle(metric, payload));
      columns.push((row) => stat(row.cells.get(payload), metric)?.median ?? null);
    }
  }
  for (const metric of METRICS) {
    for (const payload of table.payloads) {
      for (const bound of ['ciLow', 'ciHigh'] as const) {
        formats[header.length] = FORMATS[metric];
        header.push(
          `${metricLabel(metric)} ${payloadLabel(payload)}: CI ${bound === 'ciLow' ? 'low' : 'high'}`,
        );
        columns.push((row) => stat(row.cells.get(payload), metric)?.[bound] ?? null);
      }
    }
  }
  for (const payload of table.payloads) {
    for (const part of ['ratio', 'ciLow', 'ciHigh'] as const) {
      formats[header.length] = FORMATS.ratio;
      header.push(
        `Ratio to nginx ${payloadLabel(payload)}${part === 'ratio' ? '' : `: CI ${part === 'ciLow' ? 'low' : 'high'}`}`,
      );
      columns.push((row) => ratio(row.cells.get(payload))?.[part] ?? null);
    }
  }
  // The coverage each interval really reaches ('*': short of the level asked, too few repetitions).
  for (const payload of table.payloads) {
    header.push(`Responses/s ${payloadLabel(payload)}: CI confidence`);
    columns.push((row) => {
      const st = stat(row.cells.get(payload), 'requestsPerSecond');
      return st ? confidenceText(st) : null;
    });
    header.push(`Ratio to nginx ${payloadLabel(payload)}: CI confidence`);
    columns.push((row) => {
      const r = ratio(row.cells.get(payload));
      return r ? confidenceText(r) : null;
    });
  }
  // Whisker lengths for the charts' error bars: Excel wants distances from the bar, not bounds.
  const whiskers = new Map<string, { minus: number; plus: number }>();
  for (const { metric, payload } of headline) {
    const what = `${metricLabel(metric)} ${payloadLabel(payload)}`;
    whiskers.set(`${metric}:${payload}`, { minus: header.length, plus: header.length + 1 });
    formats[header.length] = FORMATS[metric];
    header.push(`${what}: chart whisker below`);
    columns.push((row) => {
      const s = stat(row.cells.get(payload), metric);
      return s ? s.median - s.ciLow : null;
    });
    formats[header.length] = FORMATS[metric];
    header.push(`${what}: chart whisker above`);
    columns.push((row) => {
      const s = stat(row.cells.get(payload), metric);
      return s ? s.ciHigh - s.median : null;
    });
  }
  for (const payload of table.payloads) {
    header.push(`Valid repetitions ${payloadLabel(payload)}`);
    columns.push((row) => {
      const s = row.cells.get(payload);
      if (s === undefined) return null;
      return s.skipped !== null ? 'skipped' : (s.summary?.validRepetitions ?? 0);
    });
  }
  const rows = table.rows.map((row) => [row.label, ...columns.map((f) => f(row))]);
  const lastRow = 1 + table.rows.length;
  const charts = headline.map(({ metric, payload, column }): BarChartSpec => {
    const stats = table.rows.map((row) => stat(row.cells.get(payload), metric));
    const whisker = whiskers.get(`${metric}:${payload}`)!;
    return {
      sheetName: chartSheetName(metric, payload),
      title: metricTitle(metric, payload),
      seriesNameRef: sheetRef(DATA_SHEET, column, 1),
      categoriesRef: sheetRef(DATA_SHEET, 0, 2, lastRow),
      valuesRef: sheetRef(DATA_SHEET, column, 2, lastRow),
      categories: table.rows.map((r) => r.label),
      values: stats.map((s) => s?.median ?? null),
      errors: {
        minusRef: sheetRef(DATA_SHEET, whisker.minus, 2, lastRow),
        plusRef: sheetRef(DATA_SHEET, whisker.plus, 2, lastRow),
        minus: stats.map((s) => (s ? s.median - s.ciLow : null)),
        plus: stats.map((s) => (s ? s.ciHigh - s.median : null)),
      },
      formatCode: FORMATS[metric],
    };
  });
  return { header, rows, formats, charts };
}

export async function renderXlsx(input: ResultsFile): Promise<Uint8Array> {
  const results = displayResults(input);
  const date = reportDate(results);
  const table = buildTable(results);
  const workbook = newWorkbook(date, `scaleup results ${results.run.id}`);
  const data = dataSheet(workbook, results, table);
  addScenarioSheets(workbook, results);
  const scaling = scalingSheet(workbook, results);
  addMeasurementSheets(workbook, results);
  runSheets(workbook, results);
  return finishWorkbook(workbook, [...data.charts, ...scaling], date);
}

/** The seed's sheet: the headline table, then the notes a reader needs to trust it. */
function dataSheet(workbook: ExcelJS.Workbook, results: ResultsFile, table: ResultsTable): DataColumns {
  const data = dataColumns(table);
  const sheet = addTable(workbook, DATA_SHEET, data.header, data.rows, data.formats);
  sheet.getColumn(1).width = Math.max(24, ...table.rows.map((r) => r.label.length + 2));
  const notes = [
    `Machine: ${machineLabel(results)}; run ${results.run.id}, ${results.run.startedAt}; profile ${results.run.profile}, suite ${results.run.suite}.`,
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
