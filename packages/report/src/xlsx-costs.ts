import { efficiencyView, serverCpuView, toolCpuView } from './display.ts';
import { confidenceText } from './format.ts';
import { costChartTitle, efficiencyChartTitle, payloadLabel, type ResultsTable } from './model.ts';
import type { BarChartSpec, BarSeries } from './xlsx-charts.ts';
import { type Column, FORMATS, sheetRef } from './xlsx-sheet.ts';

/**
 * The Data sheet's cost columns and their native charts, in a run with costs: per payload the
 * server's CPU per response and the efficiency to nginx with their intervals, then the load
 * tool's CPU per response, then the whisker columns the charts' error bars point at. Each chart
 * reads its bars and whiskers from these cells, as the headline charts read theirs.
 */

type Row = ResultsTable['rows'][number];

/** A median (or ratio) with its interval, whatever statistic a column shows. */
interface Estimate {
  median: number;
  ciLow: number;
  ciHigh: number;
  confidence: number;
  confidenceTarget: number;
}
type RowEstimate = (row: Row) => Estimate | null;

/** Which cost series the run has (the tool's only where recorded) and the level of its intervals. */
export interface CostOptions {
  series: { server: string; tool: string | null };
  confidence: number;
}

/** The tool's bars beside the server's: the second colour of every chart. */
const TOOL_COLOUR = 'C0504D';

/** Two columns for a chart's error bars: Excel wants distances from the bar, not bounds. */
export function whiskerColumns(what: string, format: string, st: RowEstimate): [Column<Row>, Column<Row>] {
  return [
    {
      header: `${what}: chart whisker below`,
      format,
      value: (row) => {
        const s = st(row);
        return s ? s.median - s.ciLow : null;
      },
    },
    {
      header: `${what}: chart whisker above`,
      format,
      value: (row) => {
        const s = st(row);
        return s ? s.ciHigh - s.median : null;
      },
    },
  ];
}

/** Median, CI low, CI high and the confidence reached: one estimate as four columns. */
function estimateColumns(what: string, format: string, st: RowEstimate): Column<Row>[] {
  const parts = [
    ['median', null],
    ['ciLow', 'CI low'],
    ['ciHigh', 'CI high'],
  ] as const;
  return [
    ...parts.map(
      ([key, name]): Column<Row> => ({
        header: name === null ? what : `${what}: ${name}`,
        format,
        value: (row) => st(row)?.[key] ?? null,
      }),
    ),
    {
      header: `${what}: CI confidence`,
      value: (row) => {
        const s = st(row);
        return s ? confidenceText(s) : null;
      },
    },
  ];
}

/** The three estimates of a payload's cost, each a function of a row of the seed's table. */
function estimatesAt(payload: number, options: CostOptions) {
  const at = (row: Row) => row.cells.get(payload);
  const server: RowEstimate = (row) => {
    const s = at(row);
    return s === undefined ? null : (serverCpuView(s)?.stat ?? null);
  };
  const tool: RowEstimate = (row) => {
    const s = at(row);
    return s === undefined ? null : (toolCpuView(s, options.confidence)?.stat ?? null);
  };
  const efficiency: RowEstimate = (row) => {
    const s = at(row);
    const view = s === undefined ? null : efficiencyView(s);
    return view?.kind === 'ratio' ? { ...view.ratio, median: view.ratio.ratio } : null;
  };
  return { server, tool, efficiency };
}

/** One series of a chart: the values of a column and, where given, its two whisker columns. */
function series(
  table: ResultsTable,
  sheet: string,
  name: string,
  columns: { value: number; whisker: number | null },
  st: RowEstimate,
  colour: string,
): BarSeries {
  const lastRow = 1 + table.rows.length;
  const stats = table.rows.map(st);
  const whisker = columns.whisker;
  return {
    nameRef: sheetRef(sheet, columns.value, 1),
    name,
    valuesRef: sheetRef(sheet, columns.value, 2, lastRow),
    values: stats.map((s) => s?.median ?? null),
    errors:
      whisker === null
        ? null
        : {
            minusRef: sheetRef(sheet, whisker, 2, lastRow),
            plusRef: sheetRef(sheet, whisker + 1, 2, lastRow),
            minus: stats.map((s) => (s ? s.median - s.ciLow : null)),
            plus: stats.map((s) => (s ? s.ciHigh - s.median : null)),
          },
    colour,
  };
}

/** A clustered bar chart sheet from its series: the first names the chart's columns. */
function chart(
  table: ResultsTable,
  sheet: string,
  head: { sheetName: string; title: string; yTitle: string; formatCode: string },
  [first, ...others]: [BarSeries, ...BarSeries[]],
): BarChartSpec {
  return {
    ...head,
    seriesNameRef: first.nameRef,
    seriesName: first.name,
    categoriesRef: sheetRef(sheet, 0, 2, 1 + table.rows.length),
    categories: table.rows.map((r) => r.label),
    valuesRef: first.valuesRef,
    values: first.values,
    errors: first.errors,
    ...(others.length > 0 ? { others } : {}),
  };
}

/**
 * The cost columns of the Data sheet from column `start` on, and per payload two native charts:
 * CPU per response of each server with the tool's beside it, and the efficiency to nginx.
 */
export function costData(
  table: ResultsTable,
  start: number,
  options: CostOptions,
  sheet: string,
): { columns: Column<Row>[]; charts: BarChartSpec[] } {
  const columns: Column<Row>[] = [];
  const index = new Map<string, number>();
  const add = (key: string, added: Column<Row>[]) => {
    index.set(key, start + columns.length);
    columns.push(...added);
  };
  const perPayload = table.payloads.map((payload) => ({ payload, ...estimatesAt(payload, options) }));
  // The server's figures first, as before charts existed, so their columns keep their place.
  for (const { payload, server, efficiency } of perPayload) {
    const at = payloadLabel(payload);
    add(`server ${payload}`, estimateColumns(`Server CPU µs/response ${at}`, FORMATS.cost, server));
    add(`efficiency ${payload}`, estimateColumns(`Efficiency to nginx ${at}`, FORMATS.ratio, efficiency));
  }
  if (options.series.tool !== null) {
    for (const { payload, tool } of perPayload) {
      const what = `Load tool CPU µs/response ${payloadLabel(payload)}`;
      add(`tool ${payload}`, estimateColumns(what, FORMATS.cost, tool));
    }
  }
  for (const { payload, server, tool, efficiency } of perPayload) {
    const at = payloadLabel(payload);
    add(`server whisker ${payload}`, whiskerColumns(`Server CPU µs/response ${at}`, FORMATS.cost, server));
    if (options.series.tool !== null) {
      add(`tool whisker ${payload}`, whiskerColumns(`Load tool CPU µs/response ${at}`, FORMATS.cost, tool));
    }
    add(
      `efficiency whisker ${payload}`,
      whiskerColumns(`Efficiency to nginx ${at}`, FORMATS.ratio, efficiency),
    );
  }
  const col = (key: string) => index.get(key)!;
  const charts = perPayload.flatMap(({ payload, server, tool, efficiency }) => {
    const cpu: [BarSeries, ...BarSeries[]] = [
      series(
        table,
        sheet,
        options.series.server,
        { value: col(`server ${payload}`), whisker: col(`server whisker ${payload}`) },
        server,
        '4F81BD',
      ),
    ];
    if (options.series.tool !== null) {
      cpu.push(
        series(
          table,
          sheet,
          options.series.tool,
          { value: col(`tool ${payload}`), whisker: col(`tool whisker ${payload}`) },
          tool,
          TOOL_COLOUR,
        ),
      );
    }
    const ratio = series(
      table,
      sheet,
      `Efficiency to nginx ${payloadLabel(payload)}`,
      { value: col(`efficiency ${payload}`), whisker: col(`efficiency whisker ${payload}`) },
      efficiency,
      '4F81BD',
    );
    return [
      chart(
        table,
        sheet,
        {
          sheetName: `CPU per response, ${payloadLabel(payload)}`.slice(0, 31),
          title: costChartTitle(payload),
          yTitle: 'CPU µs per response',
          formatCode: FORMATS.cost,
        },
        cpu,
      ),
      chart(
        table,
        sheet,
        {
          sheetName: `Efficiency, ${payloadLabel(payload)}`.slice(0, 31),
          title: efficiencyChartTitle(payload),
          yTitle: 'efficiency vs nginx',
          formatCode: FORMATS.ratio,
        },
        [ratio],
      ),
    ];
  });
  return { columns, charts };
}
