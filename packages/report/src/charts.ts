import * as vega from 'vega';
import * as vl from 'vega-lite';
import { FONT_FAMILY, textWidth } from './font.ts';
import { displayText } from './format.ts';

/**
 * Charts as SVG: vega-lite spec, compiled to vega, rendered headless. Text widths come from the
 * embedded TTF instead of vega's length-times-size estimate, so labels fit the way pdfkit will
 * draw them.
 */

export interface BarDatum {
  category: string;
  /** Series within a category (a machine in a comparison); null for a single series. */
  series?: string | null;
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  /** Exact figures for a hover tooltip (see svgTooltips); the PDF's charts leave it out. */
  tooltip?: string;
}

export interface BarChartOptions {
  title: string;
  yTitle: string;
  /** d3-format specifier for value labels and the axis, e.g. ',.0f'. */
  format: string;
  width: number;
  height: number;
  /** Category order; categories without a value keep their slot. */
  categories: string[];
  series?: string[];
  /** A dashed reference line (1.0 for ratios to nginx). */
  rule?: number;
}

export const BAR_COLOUR = '#4F81BD';
export const SERIES_COLOURS = ['#4F81BD', '#C0504D', '#9BBB59', '#8064A2', '#4BACC6', '#F79646'];

type TextMetrics = { width: (item: { fontSize?: number }, text: unknown) => number };
const metrics = (vega as unknown as { textMetrics: TextMetrics }).textMetrics;
metrics.width = (item, text) => {
  const value = text == null ? '' : String(text).trim();
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  return size <= 0 || value === '' ? 0 : textWidth(value, size);
};

const LABEL_SIZE = 8;

/** Greedy word wrap by the embedded font's real widths. */
export function wrapText(text: string, width: number, size: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && textWidth(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A value as a vega expression literal. JSON, except that U+2028 and U+2029 are escaped: JSON
 * allows them raw in strings, vega's expression parser takes them for line ends ("Unexpected
 * token ILLEGAL").
 */
export function expressionLiteral(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/**
 * Axis labels split over lines to fit their band; vega labels accept an array as lines. One
 * lookup (the category's index in a flat list), not a chain of conditions: a chain nests once
 * per category, and some hundreds of categories overflow the expression parser's stack.
 */
function labelExpr(categories: string[], band: number): string {
  if (categories.length === 0) return 'datum.label';
  const lines = categories.map((c) => wrapText(c, band, LABEL_SIZE));
  return `${expressionLiteral(lines)}[indexof(${expressionLiteral(categories)}, datum.label)] || datum.label`;
}

/** What every chart's spec starts with: its size, fitted with padding, on white. */
export function frame(options: { width: number; height: number }) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: options.width,
    height: options.height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 4,
    background: '#ffffff',
  };
}

/** One font everywhere, the same axes; legends differ by chart. */
export function chartConfig(legend: Record<string, unknown>) {
  return {
    font: FONT_FAMILY,
    view: { stroke: null },
    axis: {
      labelFont: FONT_FAMILY,
      titleFont: FONT_FAMILY,
      labelFontSize: LABEL_SIZE,
      titleFontSize: 9,
      titleFontWeight: 'normal',
    },
    axisY: { gridDash: [3, 3] },
    legend,
    title: { font: FONT_FAMILY },
  };
}

/** A dashed horizontal reference line (1.0 for ratios and efficiency). */
function ruleLayer(value: number): Record<string, unknown> {
  return {
    data: { values: [{ rule: value }] },
    mark: { type: 'rule', strokeDash: [4, 3], color: '#808080' },
    encoding: { y: { field: 'rule', type: 'quantitative' } },
  };
}

/**
 * Names that reach vega-lite's own expressions (sort orders, domains) with their control
 * characters shown, not raw: a U+2028 there fails the whole chart. The report's model has
 * cleaned them already; this keeps the chart functions safe for any caller.
 */
export const chartName = (text: string) => displayText(text, Number.POSITIVE_INFINITY);

export function barChartSpec(input: BarDatum[], given: BarChartOptions): vl.TopLevelSpec {
  const options = {
    ...given,
    categories: given.categories.map(chartName),
    ...(given.series === undefined ? {} : { series: given.series.map(chartName) }),
  };
  const data = input.map((d) => ({
    ...d,
    category: chartName(d.category),
    ...(d.series == null ? {} : { series: chartName(d.series) }),
  }));
  const grouped = options.series !== undefined && options.series.length > 1;
  const values = data.map((d) => ({ ...d, series: d.series ?? '', label: d.value }));
  const description = tooltipEncoding(data);
  const band = (0.9 * options.width) / Math.max(1, options.categories.length);
  const x = {
    field: 'category',
    type: 'nominal' as const,
    // The domain fixes the order; a sort list would compile to one nested condition per category.
    sort: null,
    scale: { domain: options.categories },
    axis: {
      title: null,
      labelAngle: 0,
      labelExpr: labelExpr(options.categories, band),
      // Labels are wrapped above by real widths. No limit: the SVG renderer comes from a second
      // vega-scenegraph copy (vega-view's) that would truncate by vega's rough estimate.
      labelLimit: 0,
    },
  };
  const xOffset = grouped
    ? {
        xOffset: { field: 'series', type: 'nominal' as const, sort: null, scale: { domain: options.series } },
      }
    : {};
  const colour = grouped
    ? {
        color: {
          field: 'series',
          type: 'nominal' as const,
          sort: null,
          scale: { domain: options.series, range: SERIES_COLOURS },
          legend: { title: null, orient: 'bottom' as const },
        },
      }
    : {};
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: options.yTitle,
    axis: { format: options.format },
  };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: 'bar', ...(grouped ? {} : { color: BAR_COLOUR }), width: { band: grouped ? 0.9 : 0.5 } },
      encoding: { x, ...xOffset, y, ...colour, ...description },
    },
    {
      transform: [{ filter: 'isValid(datum.ciLow) && isValid(datum.ciHigh)' }],
      mark: { type: 'errorbar', ticks: { size: 8 }, color: '#000000', thickness: 1 },
      encoding: {
        x,
        ...xOffset,
        y: { field: 'ciLow', type: 'quantitative', title: options.yTitle },
        y2: { field: 'ciHigh' },
      },
    },
    {
      transform: [{ filter: 'isValid(datum.value)' }],
      mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: grouped ? 7 : 9, color: '#000000' },
      encoding: {
        x,
        ...xOffset,
        y: { field: 'top', type: 'quantitative' },
        text: { field: 'value', type: 'quantitative', format: options.format },
      },
    },
  ];
  if (options.rule !== undefined) layers.push(ruleLayer(options.rule));
  // Built loosely and checked by vega-lite at compile time: its layer types are not exported.
  return {
    ...frame(options),
    // Wrapped well inside the chart: vega makes room for a title near the chart's width by
    // shrinking the plot, to half its width and less (the comparison's long captions).
    title: {
      text: wrapText(options.title, options.width * 0.8, 11),
      fontSize: 11,
      font: FONT_FAMILY,
      fontWeight: 'normal',
    },
    data: { values },
    transform: [{ calculate: 'max(datum.value || 0, datum.ciHigh || 0)', as: 'top' }],
    layer: layers,
    config: chartConfig({ labelFont: FONT_FAMILY, labelFontSize: 8 }),
  } as unknown as vl.TopLevelSpec;
}

/**
 * The marks' description channel, only when the data carries tooltips: vega writes a
 * description as the mark's aria-label, which svgTooltips turns into a <title>. Without
 * tooltips the spec (and so the PDF's SVG) is exactly what it was.
 */
export function tooltipEncoding(data: readonly { tooltip?: string }[]): { description?: { field: string } } {
  return data.some((d) => d.tooltip !== undefined) ? { description: { field: 'tooltip' } } : {};
}

const TOOLTIP_MARKS = /<(path|line|rect|text)( [^>]*?aria-roledescription="(?:bar|point)"[^>]*?)\/>/g;

/**
 * Hover tooltips for an SVG page: vega's SVG renderer emits no tooltips, but it writes each bar
 * and point's description (already XML-escaped) as aria-label. Each such mark gets that text as
 * its SVG <title> too, which browsers show on hover. Other marks are left as they are.
 */
export function svgTooltips(svg: string): string {
  return svg.replace(TOOLTIP_MARKS, (whole, tag: string, attributes: string) => {
    const label = /\saria-label="([^"]*)"/.exec(attributes);
    return label === null ? whole : `<${tag}${attributes}><title>${label[1]}</title></${tag}>`;
  });
}

/** Renders serially: vega's SVG definition ids are a module-wide counter reset per chart. */
let queue: Promise<unknown> = Promise.resolve();

export function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const run = async () => {
    const compiled = vl.compile(spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    try {
      vega.resetSVGDefIds();
      return await view.toSVG();
    } finally {
      view.finalize();
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

export function barChartSvg(data: BarDatum[], options: BarChartOptions): Promise<string> {
  return renderSvg(barChartSpec(data, options));
}

export interface LineDatum {
  series: string;
  x: number;
  y: number | null;
  low?: number | null;
  high?: number | null;
  /** A reference line (ideal linear scaling): dashed, no markers, no whiskers. */
  reference?: boolean;
  /** The point is a lower bound (the load tool was saturated there): drawn hollow. */
  lowerBound?: boolean;
  /** Exact figures for a hover tooltip (see svgTooltips); the PDF's charts leave it out. */
  tooltip?: string;
}

export interface LineChartOptions {
  title: string;
  /** A second, smaller title line (what dashes and hollow markers mean). */
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  format: string;
  width: number;
  height: number;
  /** Series order; references follow the measured series they belong to. */
  series: string[];
  /** Log-2 x axis for worker and connection counts that double. */
  logX?: boolean;
  /** A dashed horizontal reference (1.0 for efficiency or ratios). */
  rule?: number;
}

/**
 * Curves against a numeric axis (workers, connections): measured series as lines with markers
 * and whiskers, reference series dashed. The same spec renders in the PDF and the HTML page.
 */
export function lineChartSpec(input: LineDatum[], given: LineChartOptions): vl.TopLevelSpec {
  const options = { ...given, series: given.series.map(chartName) };
  const data = input.map((d) => ({ ...d, series: chartName(d.series) }));
  const values = data.map((d) => ({
    ...d,
    low: d.low ?? null,
    high: d.high ?? null,
    reference: d.reference === true,
    lowerBound: d.lowerBound === true,
  }));
  const xs = [...new Set(data.map((d) => d.x))].sort((a, b) => a - b);
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: options.xTitle,
    scale: options.logX ? { type: 'log' as const, base: 2 } : { zero: false },
    axis: { values: xs, format: 'd' },
  };
  const colour = {
    field: 'series',
    type: 'nominal' as const,
    sort: null,
    scale: { domain: options.series, range: SERIES_COLOURS },
    legend: { title: null, orient: 'bottom' as const, columns: 1, labelLimit: options.width - 30 },
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: options.yTitle,
    axis: { format: options.format },
  };
  const layers: Record<string, unknown>[] = [
    {
      transform: [{ filter: 'isValid(datum.y) && !datum.reference' }],
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: { x, y, color: colour, detail: { field: 'series' } },
    },
    {
      // Separate from the measured lines: pdfkit refuses a zero-length dash, so no solid "dash".
      transform: [{ filter: 'isValid(datum.y) && datum.reference' }],
      mark: { type: 'line', strokeWidth: 1, strokeDash: [5, 4] },
      encoding: { x, y, color: colour, detail: { field: 'series' } },
    },
    {
      transform: [{ filter: 'isValid(datum.y) && !datum.reference' }],
      mark: { type: 'point', size: 30, strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color: colour,
        fill: {
          condition: { test: 'datum.lowerBound', value: '#ffffff' },
          field: 'series',
          type: 'nominal',
          scale: { domain: options.series, range: SERIES_COLOURS },
          legend: null,
        },
        opacity: { value: 1 },
        ...tooltipEncoding(data),
      },
    },
    {
      transform: [{ filter: 'isValid(datum.low) && isValid(datum.high) && !datum.reference' }],
      mark: { type: 'errorbar', ticks: { size: 6 }, thickness: 1 },
      encoding: {
        x,
        y: { field: 'low', type: 'quantitative', title: options.yTitle },
        y2: { field: 'high' },
        color: colour,
      },
    },
  ];
  if (options.rule !== undefined) layers.push(ruleLayer(options.rule));
  return {
    ...frame(options),
    title: {
      text: wrapText(options.title, options.width - 10, 10),
      ...(options.subtitle === undefined
        ? {}
        : { subtitle: wrapText(options.subtitle, options.width - 10, 8) }),
      fontSize: 10,
      subtitleFontSize: 8,
      font: FONT_FAMILY,
      subtitleFont: FONT_FAMILY,
      fontWeight: 'normal',
    },
    data: { values },
    layer: layers,
    config: chartConfig({ labelFont: FONT_FAMILY, labelFontSize: 7, symbolSize: 40 }),
  } as unknown as vl.TopLevelSpec;
}

export function lineChartSvg(data: LineDatum[], options: LineChartOptions): Promise<string> {
  return renderSvg(lineChartSpec(data, options));
}
