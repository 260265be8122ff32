import type { ResultsFile, StatSummary } from '@scaleup/core';
import type ExcelJS from 'exceljs';
import { confidenceText } from './format.ts';
import {
  type CapacityRow,
  capacityRows,
  censoredText,
  type LatencyGroup,
  type LatencyPointRow,
  latencyGroups,
  latencyPointRows,
} from './latency.ts';
import { payloadLabel } from './model.ts';
import type { ScatterChartSpec, ScatterSeries } from './xlsx-charts.ts';
import { addColumns, type Column, FORMATS, ms, sheetRef } from './xlsx-sheet.ts';

/**
 * The workbook's view of an open-loop rate sweep: a sheet of every rate step (the native
 * charts of latency against offered load are bound to its columns), a sheet of the spectra
 * (the spectrum charts are bound to it) and the capacity at each objective. The run's
 * `Latency` sheet (closed-loop percentiles per scenario) is a different thing and stays.
 */

export const LATENCY_CURVES_SHEET = 'Latency curves';
export const SPECTRUM_SHEET = 'Latency spectrum';
export const CAPACITY_SHEET = 'Capacity at SLO';

const COLOURS = ['4F81BD', 'C0504D', '9BBB59', '8064A2', '4BACC6', 'F79646', '2C4D75', '772C2A'];
const MS = '0.000';

const msOf = (st: StatSummary | null) => ms(st?.median ?? null);
const PERCENTILE_NAMES = ['p50', 'p90', 'p99', 'p99.9', 'max'] as const;

const POINT_COLUMNS: Column<LatencyPointRow>[] = [
  { header: 'Server', value: (r) => r.server },
  { header: 'Scenario', value: (r) => r.scenarioId },
  { header: 'Payload (bytes)', value: (r) => r.payloadBytes },
  { header: 'Rate step', value: (r) => r.point.rateStep },
  {
    header: 'Offered responses/s',
    format: FORMATS.requestsPerSecond,
    value: (r) => r.point.offeredPerSecond,
  },
  {
    header: 'Achieved responses/s',
    format: FORMATS.requestsPerSecond,
    value: (r) => r.point.achievedPerSecond?.median ?? null,
  },
  {
    header: 'Achieved CI low',
    format: FORMATS.requestsPerSecond,
    value: (r) => r.point.achievedPerSecond?.ciLow ?? null,
  },
  {
    header: 'Achieved CI high',
    format: FORMATS.requestsPerSecond,
    value: (r) => r.point.achievedPerSecond?.ciHigh ?? null,
  },
  { header: 'Kept up', value: (r) => r.point.keptUp },
  ...PERCENTILE_NAMES.map(
    (name, i): Column<LatencyPointRow> => ({
      header: `${name} (ms)`,
      format: MS,
      value: (r) => msOf(r.percentiles[i]!),
    }),
  ),
  { header: 'p99 CI low (ms)', format: MS, value: (r) => ms(r.percentiles[2]?.ciLow ?? null) },
  { header: 'p99 CI high (ms)', format: MS, value: (r) => ms(r.percentiles[2]?.ciHigh ?? null) },
  {
    header: 'p99 CI confidence',
    value: (r) => (r.percentiles[2] ? confidenceText(r.percentiles[2]) : null),
  },
  { header: 'Upper bounds (merged hosts)', value: (r) => r.point.latency?.upperBound ?? null },
  { header: 'Valid repetitions', value: (r) => r.point.validRepetitions },
];

const col = (header: string) => POINT_COLUMNS.findIndex((c) => c.header === header);

const rate = (r: CapacityRow, key: 'value' | 'ciLow' | 'ciHigh') =>
  r.capacity.censored === 'below-lowest' ? null : (r.capacity.ratePerSecond?.[key] ?? null);

const CAPACITY_COLUMNS: Column<CapacityRow>[] = [
  { header: 'Server', value: (r) => r.server },
  { header: 'Scenario', value: (r) => r.scenarioId },
  { header: 'Payload (bytes)', value: (r) => r.payloadBytes },
  { header: 'Objective', value: (r) => r.slo },
  {
    header: 'Capacity (responses/s offered)',
    format: FORMATS.requestsPerSecond,
    value: (r) => rate(r, 'value'),
  },
  { header: 'As shown', value: (r) => r.figure },
  { header: 'CI low', format: FORMATS.requestsPerSecond, value: (r) => rate(r, 'ciLow') },
  { header: 'CI high', format: FORMATS.requestsPerSecond, value: (r) => rate(r, 'ciHigh') },
  {
    header: 'CI confidence',
    value: (r) => (r.capacity.ratePerSecond === null ? null : confidenceText(r.capacity.ratePerSecond)),
  },
  { header: 'Censored', value: (r) => censoredText(r.capacity) || null },
  {
    header: 'Ratio to nginx',
    format: FORMATS.ratio,
    value: (r) => (r.baseline ? 'baseline' : (r.capacity.ratioToBaseline?.ratio ?? null)),
  },
  { header: 'Ratio CI low', format: FORMATS.ratio, value: (r) => r.capacity.ratioToBaseline?.ciLow ?? null },
  {
    header: 'Ratio CI high',
    format: FORMATS.ratio,
    value: (r) => r.capacity.ratioToBaseline?.ciHigh ?? null,
  },
  {
    header: 'Ratio CI confidence',
    value: (r) => (r.capacity.ratioToBaseline ? confidenceText(r.capacity.ratioToBaseline) : null),
  },
];

interface SpectrumRow {
  server: string;
  payloadBytes: number;
  rateStep: string;
  percentile: number;
  x: number;
  ms: number;
}

const SPECTRUM_COLUMNS: Column<SpectrumRow>[] = [
  { header: 'Server', value: (r) => r.server },
  { header: 'Payload (bytes)', value: (r) => r.payloadBytes },
  { header: 'Rate step', value: (r) => r.rateStep },
  { header: 'Percentile', format: '0.###', value: (r) => r.percentile },
  { header: '1/(1-p)', format: '#,##0.##', value: (r) => r.x },
  { header: 'Latency (ms)', format: MS, value: (r) => r.ms },
];

/** Rows [first, last] (1-based sheet rows) of each server's block in a sheet of rows. */
function blocks<Row>(rows: readonly Row[], keyOf: (r: Row) => string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  rows.forEach((r, i) => {
    const key = keyOf(r);
    const span = out.get(key);
    out.set(key, span === undefined ? [i + 2, i + 2] : [span[0], i + 2]);
  });
  return out;
}

const STYLES: { name: string; style: ScatterSeries['style'] }[] = [
  { name: 'p99', style: 'solid' },
  { name: 'p50', style: 'dash' },
  { name: 'p99.9', style: 'sysDot' },
];

function curveChart(
  g: LatencyGroup,
  rows: LatencyPointRow[],
  spans: Map<string, [number, number]>,
): ScatterChartSpec {
  const xCol = col('Offered responses/s');
  const series = g.servers.flatMap(({ name, curve }, i) =>
    STYLES.map(({ name: line, style }): ScatterSeries => {
      const [first, last] = spans.get(`${curve.payloadBytes}|${name}`)!;
      const yCol = col(`${line} (ms)`);
      const own = rows.slice(first - 2, last - 1);
      return {
        // Named in full ("nginx: p99"); no one cell of the sheet says that.
        nameRef: null,
        name: `${name}: ${line}`,
        xRef: sheetRef(LATENCY_CURVES_SHEET, xCol, first, last),
        yRef: sheetRef(LATENCY_CURVES_SHEET, yCol, first, last),
        x: own.map((r) => r.point.offeredPerSecond),
        y: own.map((r) => POINT_COLUMNS[yCol]!.value(r) as number | null),
        colour: COLOURS[i % COLOURS.length]!,
        style,
      };
    }),
  );
  return {
    kind: 'scatter',
    sheetName: `Latency vs load, ${payloadLabel(g.payloadBytes)}`.slice(0, 31),
    title: `${g.curveTitle}: p99 solid, p50 dashed, p99.9 dotted`,
    xTitle: 'Offered responses/s',
    yTitle: 'Latency (ms, log scale)',
    logX: false,
    logY: true,
    xFormat: '#,##0',
    yFormat: 'General',
    series,
  };
}

function spectrumChart(
  g: LatencyGroup,
  rows: SpectrumRow[],
  spans: Map<string, [number, number]>,
): ScatterChartSpec {
  const series = g.servers.flatMap(({ name, curve }, i): ScatterSeries[] => {
    const span = spans.get(`${curve.payloadBytes}|${name}`);
    if (span === undefined) return [];
    const own = rows.slice(span[0] - 2, span[1] - 1);
    return [
      {
        // The series is named by its server cell: the first row of its block.
        nameRef: sheetRef(SPECTRUM_SHEET, 0, span[0]),
        name,
        xRef: sheetRef(SPECTRUM_SHEET, 4, span[0], span[1]),
        yRef: sheetRef(SPECTRUM_SHEET, 5, span[0], span[1]),
        x: own.map((r) => r.x),
        y: own.map((r) => r.ms),
        colour: COLOURS[i % COLOURS.length]!,
        style: 'solid',
      },
    ];
  });
  return {
    kind: 'scatter',
    sheetName: `Latency spectrum, ${payloadLabel(g.payloadBytes)}`.slice(0, 31),
    title: g.spectrumTitle,
    xTitle: 'Percentile as 1/(1-p): 10 = 90%, 100 = 99%, 1,000 = 99.9%, 10,000 = 99.99%',
    yTitle: 'Latency (ms, log scale)',
    logX: true,
    logY: true,
    xFormat: '#,##0',
    yFormat: 'General',
    series,
  };
}

/** The rate sweep's sheets and their native charts; nothing for a closed-loop run. */
export function latencySheets(workbook: ExcelJS.Workbook, results: ResultsFile): ScatterChartSpec[] {
  const groups = latencyGroups(results);
  if (groups.length === 0) return [];
  const points = latencyPointRows(results);
  addColumns(workbook, LATENCY_CURVES_SHEET, POINT_COLUMNS, points);
  const pointSpans = blocks(points, (r) => `${r.payloadBytes}|${r.server}`);
  const spectra: SpectrumRow[] = groups.flatMap((g) =>
    g.spectrumData.map((d) => ({
      server: d.series,
      payloadBytes: g.payloadBytes,
      rateStep: g.spectrum?.rateStep ?? '',
      percentile: d.percentile,
      x: d.x,
      ms: d.y,
    })),
  );
  const spectrumSpans = blocks(spectra, (r) => `${r.payloadBytes}|${r.server}`);
  if (spectra.length > 0) addColumns(workbook, SPECTRUM_SHEET, SPECTRUM_COLUMNS, spectra);
  const capacities = capacityRows(results);
  if (capacities.length > 0) addColumns(workbook, CAPACITY_SHEET, CAPACITY_COLUMNS, capacities);
  return groups.flatMap((g) => [
    curveChart(g, points, pointSpans),
    ...(g.spectrumData.length > 0 ? [spectrumChart(g, spectra, spectrumSpans)] : []),
  ]);
}
