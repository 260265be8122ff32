import type * as vl from 'vega-lite';
import {
  chartConfig,
  chartName,
  expressionLiteral,
  frame,
  renderSvg,
  SERIES_COLOURS,
  tooltipEncoding,
  wrapText,
} from './charts.ts';
import { FONT_FAMILY } from './font.ts';
import { type LatencyDatum, SPECTRUM_TICKS, type SpectrumDatum } from './latency.ts';

/**
 * The latency charts of a rate sweep as SVG, for the page and the PDF alike: latency against
 * offered load (a log latency axis; p99 bold with its interval, p50 dashed, p99.9 dotted, one
 * colour per server) and the percentile spectrum on HdrHistogram's 1/(1-p) axis.
 */

export interface LatencyChartOptions {
  title: string;
  subtitle?: string;
  width: number;
  height: number;
  /** Server order (the legend). */
  series: string[];
  xTitle: string;
}

/** Decades covering the values, for a log axis's ticks (1-2-5 when they span a decade or less). */
export function logTicks(values: readonly number[]): number[] {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return [];
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k++) {
    const decade = 10 ** k;
    ticks.push(...(hi - lo <= 1 && k < hi ? [decade, 2 * decade, 5 * decade] : [decade]));
  }
  // Rounded so 0.1 * 2 does not print as 0.20000000000000001.
  return ticks.map((t) => Number(t.toPrecision(3)));
}

function title(options: LatencyChartOptions) {
  return {
    // Well inside the chart's width: vega shrinks the plot to make room for a title near it.
    text: wrapText(options.title, options.width * 0.7, 10),
    ...(options.subtitle === undefined
      ? {}
      : { subtitle: wrapText(options.subtitle, options.width * 0.7, 8) }),
    fontSize: 10,
    subtitleFontSize: 8,
    font: FONT_FAMILY,
    subtitleFont: FONT_FAMILY,
    fontWeight: 'normal',
  };
}

function colourOf(series: string[]) {
  return {
    field: 'series',
    type: 'nominal' as const,
    sort: null,
    scale: { domain: series, range: SERIES_COLOURS },
    // Two columns: a legend a line per server leaves a short chart too little height.
    legend: { title: null, orient: 'bottom' as const, columns: Math.min(2, series.length), labelLimit: 170 },
  };
}

/**
 * A log latency axis whose domain is exactly the decades its ticks mark: a tick outside the
 * domain would be drawn outside the plot, and vega then pushes the title off the chart.
 */
function logY(values: readonly number[], yTitle: string) {
  const ticks = logTicks(values);
  const domain = ticks.length === 0 ? {} : { domain: [ticks[0]!, ticks[ticks.length - 1]!], nice: false };
  return {
    field: 'y',
    type: 'quantitative' as const,
    title: yTitle,
    scale: { type: 'log' as const, ...domain },
    axis: { values: ticks, format: '~g' },
  };
}

/** One line style per percentile; no zero-length dashes (pdfkit refuses them), so p99 has none. */
const LINE_STYLES = [
  { line: 'p99', strokeWidth: 2 },
  { line: 'p50', strokeWidth: 1, strokeDash: [5, 3] },
  { line: 'p99.9', strokeWidth: 1, strokeDash: [1, 2] },
] as const;

export function latencyChartSpec(input: LatencyDatum[], given: LatencyChartOptions): vl.TopLevelSpec {
  const series = given.series.map(chartName);
  const data = input.map((d) => ({ ...d, series: chartName(d.series) }));
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: given.xTitle,
    scale: { zero: false },
    axis: { format: '~s' },
  };
  const y = logY(
    data.flatMap((d) => [d.y, d.low ?? d.y, d.high ?? d.y]),
    'ms (log scale)',
  );
  const layers: Record<string, unknown>[] = LINE_STYLES.map(({ line, ...style }) => ({
    transform: [{ filter: `datum.line === ${expressionLiteral(line)}` }],
    mark: { type: 'line', ...style },
    encoding: { x, y, color: colourOf(series), detail: { field: 'series' } },
  }));
  layers.push(
    {
      transform: [{ filter: "datum.line === 'p99'" }],
      mark: { type: 'point', size: 30, strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color: colourOf(series),
        fill: {
          condition: { test: 'datum.behind', value: '#ffffff' },
          field: 'series',
          type: 'nominal',
          scale: { domain: series, range: SERIES_COLOURS },
        },
        opacity: { value: 1 },
        ...tooltipEncoding(data),
      },
    },
    {
      transform: [{ filter: "datum.line === 'p99' && isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: 'errorbar', ticks: { size: 6 }, thickness: 1 },
      encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color: colourOf(series) },
    },
  );
  return {
    ...frame(given),
    title: title(given),
    data: { values: data },
    layer: layers,
    config: chartConfig({ labelFont: FONT_FAMILY, labelFontSize: 7, symbolSize: 40 }),
  } as unknown as vl.TopLevelSpec;
}

export function spectrumChartSpec(input: SpectrumDatum[], given: LatencyChartOptions): vl.TopLevelSpec {
  const series = given.series.map(chartName);
  const data = input.map((d) => ({ ...d, series: chartName(d.series) }));
  const top = Math.max(2, ...data.map((d) => d.x));
  // Every tick up to the first at or past the data, so the domain ends on a labelled tick.
  const last = SPECTRUM_TICKS.findIndex((t) => t.x >= top * 0.9999);
  const ticks = SPECTRUM_TICKS.slice(0, last < 0 ? SPECTRUM_TICKS.length : last + 1);
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: given.xTitle,
    scale: { type: 'log' as const, domain: [1, ticks[ticks.length - 1]!.x] },
    axis: {
      values: ticks.map((t) => t.x),
      labelExpr: `${expressionLiteral(ticks.map((t) => t.label))}[indexof(${expressionLiteral(ticks.map((t) => t.x))}, datum.value)] || datum.label`,
    },
  };
  return {
    ...frame(given),
    title: title(given),
    data: { values: data },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.5, interpolate: 'linear' },
        encoding: {
          x,
          y: logY(
            data.map((d) => d.y),
            'ms (log scale)',
          ),
          color: colourOf(series),
          detail: { field: 'series' },
          order: { field: 'x' },
        },
      },
    ],
    config: chartConfig({ labelFont: FONT_FAMILY, labelFontSize: 7, symbolSize: 40 }),
  } as unknown as vl.TopLevelSpec;
}

export function latencyChartSvg(data: LatencyDatum[], options: LatencyChartOptions): Promise<string> {
  return renderSvg(latencyChartSpec(data, options));
}

export function spectrumChartSvg(data: SpectrumDatum[], options: LatencyChartOptions): Promise<string> {
  return renderSvg(spectrumChartSpec(data, options));
}
