import type { ResultsFile, ScalingCurve, ScenarioResult } from '@scaleup/core';
import ExcelJS from 'exceljs';
import type { Exporter } from './exporter.ts';
import {
  buildTable,
  type ConcurrencyCurve,
  concerns,
  concurrencyCurves,
  confidenceText,
  curveLabel,
  describeServer,
  environmentPairs,
  HOST_COLUMNS,
  hostRows,
  intervalExplanation,
  LATENCY_PERCENTILES,
  METRICS,
  type Metric,
  machineLabel,
  metricLabel,
  metricTitle,
  payloadLabel,
  pointLabel,
  type ResultsTable,
  ratio,
  reportDate,
  runPairs,
  stat,
  sweptAxes,
} from './model.ts';
import { addChartSheets, type BarChartSpec, type ChartSpec, type LineChartSpec } from './xlsx-charts.ts';
import { readZip, writeZip } from './zip.ts';

export const DATA_SHEET = 'Data';
export const SCALING_SHEET = 'Scaling';
export const FORMATS: Record<Metric | 'ratio', string> = {
  requestsPerSecond: '#,##0',
  megabytesPerSecond: '#,##0.00',
  ratio: '0.000',
};

type Cell = string | number | boolean | null;

/** A sheet with a bold header row and sensible widths; values only, no formulas. */
export function addTable(
  workbook: ExcelJS.Workbook,
  name: string,
  header: string[],
  rows: Cell[][],
  formats: Record<number, string> = {},
): ExcelJS.Worksheet {
  const sheet = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.addRow(header).font = { bold: true };
  for (const row of rows) sheet.addRow(row.map((v) => (v === null ? undefined : v)));
  header.forEach((title, i) => {
    const column = sheet.getColumn(i + 1);
    const longest = Math.max(
      title.length,
      ...rows.map((r) => {
        const v = r[i];
        return typeof v === 'number' ? 10 : String(v ?? '').length;
      }),
    );
    column.width = Math.min(60, Math.max(8, longest + 2));
    const format = formats[i];
    if (format) column.numFmt = format;
  });
  return sheet;
}

export function newWorkbook(date: Date, title: string): ExcelJS.Workbook {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'scaleup';
  workbook.lastModifiedBy = 'scaleup';
  workbook.title = title;
  workbook.created = date;
  workbook.modified = date;
  return workbook;
}

/** exceljs output, then the chart parts, then one re-zip with a fixed date on every entry. */
export async function finishWorkbook(
  workbook: ExcelJS.Workbook,
  charts: ChartSpec[],
  date: Date,
): Promise<Uint8Array> {
  const raw = new Uint8Array(await workbook.xlsx.writeBuffer());
  const entries = readZip(raw);
  addChartSheets(entries, charts);
  return writeZip(entries, date);
}

export function columnLetter(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    out = String.fromCharCode(65 + rem) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

export function sheetRef(sheet: string, column: number, firstRow: number, lastRow = firstRow): string {
  const col = columnLetter(column);
  const range = firstRow === lastRow ? `$${col}$${firstRow}` : `$${col}$${firstRow}:$${col}$${lastRow}`;
  return `'${sheet.replace(/'/g, "''")}'!${range}`;
}

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

const ms = (micros: number | null) => (micros === null ? null : micros / 1000);

export async function renderXlsx(results: ResultsFile): Promise<Uint8Array> {
  const date = reportDate(results);
  const table = buildTable(results);
  const workbook = newWorkbook(date, `scaleup results ${results.run.id}`);

  const data = dataColumns(table);
  const dataSheet = addTable(workbook, DATA_SHEET, data.header, data.rows, data.formats);
  dataSheet.getColumn(1).width = Math.max(24, ...table.rows.map((r) => r.label.length + 2));
  const notes = [
    `Machine: ${machineLabel(results)}; run ${results.run.id}, ${results.run.startedAt}; profile ${results.run.profile}, suite ${results.run.suite}.`,
    `Figures are medians over valid repetitions. ${intervalExplanation(results)}`,
    'MB/s counts 10^6 bytes of succeeded responses, headers and body.',
    ...results.scenarios
      .filter((s) => s.skipped !== null)
      .map((s) => `Skipped ${s.id} (${s.label}): ${s.skipped}`),
  ];
  dataSheet.addRow([]);
  for (const note of notes) dataSheet.addRow([note]);

  addTable(
    workbook,
    'Scenarios',
    [
      'Scenario',
      'Label',
      'Payload (bytes)',
      'Server',
      'Group',
      'Baseline',
      'Skipped',
      'Response check',
      'Warm-up responses/s',
      'Valid reps',
      'Invalid reps',
      'Client-bound reps',
      'Responses/s median',
      'Responses/s CI low',
      'Responses/s CI high',
      'Responses/s mean',
      'Responses/s stdev',
      'Responses/s CV',
      'Responses/s min',
      'Responses/s max',
      'MB/s median',
      'MB/s CI low',
      'MB/s CI high',
      'Ratio to nginx',
      'Ratio CI low',
      'Ratio CI high',
      'Ratio paired',
      'Ratio n',
      'Baseline scenario',
      'Fairness (requests)',
      'Fairness (connections)',
      'Point',
      'Workers',
      'Connections',
      'Accept',
      'Server CPUs',
      'Server host',
      'Responses/s CI confidence',
      'Ratio CI confidence',
      'Ratio statistic',
      'Latency p50 median (ms)',
      'Latency p90 median (ms)',
      'Latency p99 median (ms)',
      'Latency p99.9 median (ms)',
      'Busiest worker share (requests)',
      'Busiest worker share (connections)',
      'Tool-saturated reps',
      'Lower bound (tool saturated)',
    ],
    results.scenarios.map((s) => {
      const rps = s.summary?.requestsPerSecond ?? null;
      const mbps = s.summary?.megabytesPerSecond ?? null;
      const r = s.summary?.ratioToBaseline ?? null;
      const check = s.verification
        ? `${s.verification.ok ? 'ok' : 'FAILED'}: status ${s.verification.status}, ${s.verification.bodyBytes}/${s.verification.expectedBodyBytes} bytes${s.verification.detail ? `, ${s.verification.detail}` : ''}`
        : null;
      return [
        s.id,
        s.label,
        s.payloadBytes,
        describeServer(s.server),
        s.group,
        s.baseline,
        s.skipped,
        check,
        s.warmup ? s.warmup.requestsPerSecond.map((v) => v.toFixed(0)).join(', ') : null,
        s.summary?.validRepetitions ?? null,
        s.summary?.invalidRepetitions ?? null,
        s.summary?.clientBoundRepetitions ?? null,
        rps?.median ?? null,
        rps?.ciLow ?? null,
        rps?.ciHigh ?? null,
        rps?.mean ?? null,
        rps?.stdev ?? null,
        rps?.cv ?? null,
        rps?.min ?? null,
        rps?.max ?? null,
        mbps?.median ?? null,
        mbps?.ciLow ?? null,
        mbps?.ciHigh ?? null,
        r?.ratio ?? null,
        r?.ciLow ?? null,
        r?.ciHigh ?? null,
        r ? r.paired : null,
        r?.n ?? null,
        r?.baseline ?? null,
        s.summary?.fairnessRequests ?? null,
        s.summary?.fairnessConnections ?? null,
        pointLabel(s.point),
        s.point.workers,
        s.point.connections,
        s.point.accept,
        s.point.serverCpus?.join(',') ?? null,
        s.serverHost,
        rps ? confidenceText(rps) : null,
        r ? confidenceText(r) : null,
        r?.statistic ?? null,
        ...LATENCY_PERCENTILES.map(([key]) => ms(s.summary?.latency?.[key]?.median ?? null)),
        s.summary?.busiestShareRequests ?? null,
        s.summary?.busiestShareConnections ?? null,
        s.summary?.toolSaturatedRepetitions ?? null,
        s.summary?.lowerBound ?? null,
      ];
    }),
    {
      12: '#,##0',
      13: '#,##0',
      14: '#,##0',
      15: '#,##0',
      16: '#,##0',
      17: '0.000',
      18: '#,##0',
      19: '#,##0',
      20: '#,##0.00',
      21: '#,##0.00',
      22: '#,##0.00',
      23: '0.000',
      24: '0.000',
      25: '0.000',
      29: '0.000',
      30: '0.000',
      40: '0.000',
      41: '0.000',
      42: '0.000',
      43: '0.000',
      44: '0.0%',
      45: '0.0%',
    },
  );

  addTable(
    workbook,
    'Latency',
    [
      'Scenario',
      'Label',
      'Payload (bytes)',
      'Point',
      ...LATENCY_PERCENTILES.flatMap(([, name]) => [
        `${name} median (ms)`,
        `${name} CI low (ms)`,
        `${name} CI high (ms)`,
        `${name} min (ms)`,
        `${name} max (ms)`,
      ]),
      'Repetitions',
      'Upper bounds (merged hosts)',
    ],
    results.scenarios
      .filter((s) => s.summary?.latency != null)
      .map((s) => {
        const latency = s.summary!.latency!;
        return [
          s.id,
          s.label,
          s.payloadBytes,
          pointLabel(s.point),
          ...LATENCY_PERCENTILES.flatMap(([key]) => {
            const st = latency[key];
            return [
              ms(st?.median ?? null),
              ms(st?.ciLow ?? null),
              ms(st?.ciHigh ?? null),
              ms(st?.min ?? null),
              ms(st?.max ?? null),
            ];
          }),
          latency.p99Micros?.n ?? null,
          latency.upperBound,
        ];
      }),
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [4 + i, '0.000'])),
  );

  const scaling = scalingSheet(workbook, results);

  const repRows: Cell[][] = [];
  for (const s of results.scenarios) {
    for (const rep of s.repetitions) {
      const l = rep.load;
      const nonOk =
        l.statusClasses['1xx'] + l.statusClasses['3xx'] + l.statusClasses['4xx'] + l.statusClasses['5xx'];
      repRows.push([
        s.id,
        s.label,
        s.payloadBytes,
        rep.round,
        rep.startedAt,
        rep.verdict.valid,
        rep.verdict.reasons.join('; '),
        rep.verdict.clientBound,
        rep.verdict.clientBoundReason,
        `${l.tool} ${l.toolVersion}`,
        l.elapsedSeconds,
        l.requests.succeeded,
        l.requests.failed,
        l.requests.errored,
        l.requests.timedOut,
        nonOk,
        l.requestsPerSecond,
        l.megabytesPerSecond,
        ms(l.latency.p50Micros),
        ms(l.latency.p75Micros),
        ms(l.latency.p90Micros),
        ms(l.latency.p99Micros),
        ms(l.latency.p999Micros),
        ms(l.latency.maxMicros),
        l.toolCpu?.userSeconds ?? null,
        l.toolCpu?.systemSeconds ?? null,
        l.toolCpu?.utilisation ?? null,
        rep.serverCpuUtilisation,
        rep.tcp?.listenOverflows ?? null,
        rep.tcp?.listenDrops ?? null,
        rep.tcp?.resetsSent ?? null,
        rep.tcp?.retransmittedSegments ?? null,
        rep.stealFraction,
        l.errors.join('; '),
      ]);
    }
  }
  addTable(
    workbook,
    'Repetitions',
    [
      'Scenario',
      'Label',
      'Payload (bytes)',
      'Round',
      'Started',
      'Valid',
      'Invalid because',
      'Client-bound',
      'Client-bound because',
      'Load tool',
      'Elapsed (s)',
      'Succeeded',
      'Failed',
      'Errored',
      'Timed out',
      'Non-2xx',
      'Responses/s',
      'MB/s',
      'Latency p50 (ms)',
      'Latency p75 (ms)',
      'Latency p90 (ms)',
      'Latency p99 (ms)',
      'Latency p99.9 (ms)',
      'Latency max (ms)',
      'Tool CPU user (s)',
      'Tool CPU system (s)',
      'Tool CPU utilisation',
      'Server CPU utilisation',
      'Listen overflows',
      'Listen drops',
      'Resets sent',
      'Retransmitted segments',
      'Hypervisor steal',
      'Errors',
    ],
    repRows,
    {
      10: '0.00',
      16: '#,##0',
      17: '#,##0.00',
      18: '0.000',
      19: '0.000',
      20: '0.000',
      21: '0.000',
      22: '0.000',
      23: '0.000',
      24: '0.00',
      25: '0.00',
      26: '0.0%',
      27: '0.0%',
      32: '0.0%',
    },
  );

  const workerRows: Cell[][] = [];
  const cpuRows: Cell[][] = [];
  for (const s of results.scenarios) {
    for (const rep of s.repetitions) {
      const workers = rep.workers ?? [];
      const totalRequests = workers.reduce((sum, w) => sum + w.requests, 0);
      const totalConnections = workers.reduce((sum, w) => sum + w.connections, 0);
      for (const w of workers) {
        workerRows.push([
          s.id,
          s.label,
          s.payloadBytes,
          rep.round,
          w.slot,
          w.pid,
          w.requests,
          totalRequests > 0 ? w.requests / totalRequests : null,
          w.connections,
          totalConnections > 0 ? w.connections / totalConnections : null,
        ]);
      }
      for (const p of rep.serverCpu) {
        cpuRows.push([
          s.id,
          s.label,
          s.payloadBytes,
          rep.round,
          p.pid,
          p.role,
          p.userSeconds,
          p.systemSeconds,
          p.userSeconds + p.systemSeconds,
        ]);
      }
    }
  }
  addTable(
    workbook,
    'Workers',
    [
      'Scenario',
      'Label',
      'Payload (bytes)',
      'Round',
      'Worker slot',
      'PID',
      'Requests',
      'Share of requests',
      'Connections',
      'Share of connections',
    ],
    workerRows,
    { 6: '#,##0', 7: '0.0%', 9: '0.0%' },
  );
  addTable(
    workbook,
    'Process CPU',
    ['Scenario', 'Label', 'Payload (bytes)', 'Round', 'PID', 'Role', 'User (s)', 'System (s)', 'Total (s)'],
    cpuRows,
    { 6: '0.00', 7: '0.00', 8: '0.00' },
  );

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

  return finishWorkbook(workbook, [...data.charts, ...scaling], date);
}

const LINE_COLOURS = ['4F81BD', 'C0504D', '9BBB59', '8064A2', '4BACC6', 'F79646', '2C4D75', '772C2A'];

/**
 * The Scaling sheet (one row per scenario and point: medians, intervals, speedup, efficiency,
 * fairness) and, below it, the small tables the native line charts are bound to: responses/s
 * against workers with the ideal linear line, and responses/s and p99 against connections.
 */
function scalingSheet(workbook: ExcelJS.Workbook, results: ResultsFile): LineChartSpec[] {
  const axes = sweptAxes(results);
  if (!axes.any) return [];
  const curveOf = new Map<string, { curve: ScalingCurve; point: ScalingCurve['points'][number] }>();
  for (const curve of results.scaling)
    for (const point of curve.points) curveOf.set(point.resultId, { curve, point });
  const header = [
    'Scenario',
    'Label',
    'Payload (bytes)',
    'Workers',
    'Connections',
    'Accept',
    'Server CPUs',
    'Responses/s median',
    'Responses/s CI low',
    'Responses/s CI high',
    'CI confidence',
    'Ratio to nginx',
    'Ratio CI low',
    'Ratio CI high',
    'Speedup',
    'Speedup CI low',
    'Speedup CI high',
    'Efficiency',
    'Efficiency CI low',
    'Efficiency CI high',
    'Fairness (requests)',
    'Fairness (connections)',
    'Busiest worker share (requests)',
    'Busiest worker share (connections)',
    'p99 median (ms)',
    'Lower bound (tool saturated)',
    'Skipped',
  ];
  const rows: Cell[][] = results.scenarios.map((s) => {
    const rps = s.summary?.requestsPerSecond ?? null;
    const r = s.summary?.ratioToBaseline ?? null;
    const c = curveOf.get(s.id);
    return [
      s.scenarioId,
      s.label,
      s.payloadBytes,
      s.point.workers,
      s.point.connections,
      s.point.accept,
      s.point.serverCpus?.join(',') ?? null,
      rps?.median ?? null,
      rps?.ciLow ?? null,
      rps?.ciHigh ?? null,
      rps ? confidenceText(rps) : null,
      r?.ratio ?? null,
      r?.ciLow ?? null,
      r?.ciHigh ?? null,
      c?.point.speedup?.value ?? null,
      c?.point.speedup?.ciLow ?? null,
      c?.point.speedup?.ciHigh ?? null,
      c?.point.efficiency?.value ?? null,
      c?.point.efficiency?.ciLow ?? null,
      c?.point.efficiency?.ciHigh ?? null,
      s.summary?.fairnessRequests ?? null,
      s.summary?.fairnessConnections ?? null,
      s.summary?.busiestShareRequests ?? null,
      s.summary?.busiestShareConnections ?? null,
      ms(s.summary?.latency?.p99Micros?.median ?? null),
      s.summary?.lowerBound ?? null,
      s.skipped,
    ];
  });
  const formats: Record<number, string> = {
    7: '#,##0',
    8: '#,##0',
    9: '#,##0',
    11: '0.000',
    12: '0.000',
    13: '0.000',
    14: '0.00',
    15: '0.00',
    16: '0.00',
    17: '0.00',
    18: '0.00',
    19: '0.00',
    20: '0.000',
    21: '0.000',
    22: '0.0%',
    23: '0.0%',
    24: '0.000',
  };
  const sheet = addTable(workbook, SCALING_SHEET, header, rows, formats);
  const charts: LineChartSpec[] = [];
  // Chart tables start two rows below the main table; each is a block of its own.
  let next = rows.length + 3;
  const block = (
    title: string,
    categoriesTitle: string,
    categories: number[],
    series: { name: string; values: (number | null)[] }[],
  ) => {
    const top = next;
    sheet.getRow(top).values = [title];
    sheet.getRow(top).font = { bold: true };
    sheet.getRow(top + 1).values = [categoriesTitle, ...series.map((s) => s.name)];
    categories.forEach((category, i) => {
      sheet.getRow(top + 2 + i).values = [category, ...series.map((s) => s.values[i] ?? undefined)];
    });
    next = top + 3 + categories.length;
    const first = top + 2;
    const last = top + 1 + categories.length;
    return {
      categoriesRef: sheetRef(SCALING_SHEET, 0, first, last),
      series: series.map((_, i) => ({
        nameRef: sheetRef(SCALING_SHEET, i + 1, top + 1),
        valuesRef: sheetRef(SCALING_SHEET, i + 1, first, last),
      })),
    };
  };
  if (axes.workers && results.scaling.length > 0) {
    const workers = [...new Set(results.scaling.flatMap((c) => c.points.map((p) => p.workers)))].sort(
      (a, b) => a - b,
    );
    const series = results.scaling.flatMap((curve, i) => {
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
    const refs = block('Responses/s against workers (chart data)', 'Workers', workers, series);
    charts.push({
      kind: 'line',
      sheetName: 'Scaling, workers',
      title: 'Served responses/s against workers (dashed: linear scaling from the fewest workers)',
      xTitle: 'Workers',
      yTitle: 'Responses/s',
      categoriesRef: refs.categoriesRef,
      categories: workers.map(String),
      series: series.map((s, i) => ({ ...s, ...refs.series[i]! })),
      formatCode: '#,##0',
    });
  }
  const concurrency = concurrencyCurves(results);
  if (axes.connections && concurrency.length > 0) {
    const connections = [...new Set(concurrency.flatMap((c) => c.points.map((p) => p.connections)))].sort(
      (a, b) => a - b,
    );
    const pick = (curve: ConcurrencyCurve, value: (s: ScenarioResult) => number | null) =>
      connections.map((n) => {
        const p = curve.points.find((x) => x.connections === n);
        return p === undefined ? null : value(p.result);
      });
    for (const [what, value, format, yTitle] of [
      [
        'Responses/s',
        (s: ScenarioResult) => s.summary?.requestsPerSecond?.median ?? null,
        '#,##0',
        'Responses/s',
      ],
      [
        'p99 latency (ms)',
        (s: ScenarioResult) => ms(s.summary?.latency?.p99Micros?.median ?? null),
        '0.00',
        'p99 latency (ms)',
      ],
    ] as const) {
      const series = concurrency.map((curve, i) => ({
        name: curve.label,
        values: pick(curve, value),
        dashed: false,
        colour: LINE_COLOURS[i % LINE_COLOURS.length]!,
      }));
      const refs = block(`${what} against connections (chart data)`, 'Connections', connections, series);
      charts.push({
        kind: 'line',
        sheetName: what.startsWith('p99') ? 'Scaling, p99' : 'Scaling, connections',
        title: `${what} against concurrent connections`,
        xTitle: 'Connections',
        yTitle,
        categoriesRef: refs.categoriesRef,
        categories: connections.map(String),
        series: series.map((s, i) => ({ ...s, ...refs.series[i]! })),
        formatCode: format,
      });
    }
  }
  return charts;
}

export const xlsxExporter: Exporter = {
  name: 'xlsx',
  extension: '.xlsx',
  render: renderXlsx,
};
