import { createHash } from 'node:crypto';
import type { ResultsFile, ScenarioResult, StatSummary } from '@scaleup/core';
import { type BarDatum, barChartSvg, type LineDatum, lineChartSvg, svgTooltips } from './charts.ts';
import {
  displayResults,
  EFFICIENCY_NOTE,
  efficiencyView,
  hasCosts,
  LOWER_BOUND_NOTE,
  lowerBoundMark,
  MARKS,
  p99View,
  quotaNote,
  type RatioView,
  ratioView,
  serverCpuView,
  stoppingText,
  upperBoundMark,
  validText,
} from './display.ts';
import type { Exporter, RenderContext } from './exporter.ts';
import { FLAME_SCRIPT, FLAME_STYLE, profilesSection } from './flame-html.ts';
import { FONT_FAMILY, fontData } from './font.ts';
import {
  COST_DIGITS,
  confidenceText,
  D3_FORMAT,
  DIGITS,
  exact,
  fmt,
  intervalText,
  METHODOLOGY,
} from './format.ts';
import {
  capacityRows,
  keptUpText,
  type LatencyGroup,
  latencyExplanation,
  latencyGroups,
  latencyPointRows,
  spectrumCaption,
} from './latency.ts';
import { latencyChartSvg, spectrumChartSvg } from './latency-charts.ts';
import {
  buildTable,
  concerns,
  costCharts,
  describeServer,
  environmentPairs,
  intervalExplanation,
  LATENCY_PERCENTILES,
  type LineChartDefinition,
  METRICS,
  type Metric,
  machineLabel,
  metricLabel,
  metricTitle,
  payloadLabel,
  pointLabel,
  runPairs,
  scalingCharts,
  stat,
  sweepCaveats,
  sweptAxes,
} from './model.ts';

/**
 * results.html: one self-contained page. The font, the styles, the charts (the PDF's vega-lite
 * specs rendered to SVG, so the two never disagree) and a small sorting script are all inline;
 * a Content-Security-Policy forbids every outside request, so the page behaves the same opened
 * from a file, an attachment or a web server, with or without a network.
 */

/** Digits in tooltips: the figures as results.json has them, not the rounded labels. */
const EXACT_DIGITS: Record<Metric, number> = { requestsPerSecond: 2, megabytesPerSecond: 4 };
const BAR_WIDTH = 380;
const BAR_HEIGHT = 260;
const LINE_WIDTH = 440;
const LINE_HEIGHT = 320;

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text from results.json for HTML text or attribute values. A URL in it (a server's address, a
 * tool's command line) is shown, never referenced: its colon becomes a character reference, so
 * the file holds no `http://` a scanner or mail filter could take for a resource.
 */
export function escapeHtml(text: string): string {
  return defang(text.replace(/[&<>"']/g, (c) => ENTITIES[c]!));
}

function defang(html: string): string {
  return html.replace(/(https?):(?=\/\/)/gi, '$1&#58;');
}

/**
 * vega's SVG for inline use: tooltips on bars and points, no namespace declarations (inline SVG
 * in HTML needs none, and they are the only URLs vega writes), ids made unique on the page.
 */
function inlineSvg(svg: string, index: number): string {
  return defang(
    svgTooltips(svg)
      .replace(/\s+xmlns(?::\w+)?="[^"]*"/g, '')
      .replace(/\bid="([^"]+)"/g, `id="c${index}-$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#c${index}-$1)`)
      .replace(/<svg\b/, '<svg role="img" focusable="false"'),
  );
}

function figure(svg: string, index: number, label: string): string {
  return `<figure class="chart" aria-label="${escapeHtml(label)}">${inlineSvg(svg, index)}</figure>`;
}

interface Cell {
  html: string;
  /** Sort key: a number for numeric columns, text otherwise; null sorts last. */
  value?: number | string | null;
  className?: string;
}

interface Column {
  title: string;
  numeric?: boolean;
  /** Allowed to wrap (long text); other cells keep to one line and the table scrolls. */
  wrap?: boolean;
}

function table(columns: Column[], rows: Cell[][], options: { sortable?: boolean; id?: string } = {}): string {
  const head = columns
    .map((c) => {
      const cls = [c.numeric ? 'num' : '', c.wrap ? 'wrap' : ''].filter(Boolean).join(' ');
      return `<th scope="col"${cls ? ` class="${cls}"` : ''}${c.numeric ? ' data-numeric=""' : ''}>${escapeHtml(c.title)}</th>`;
    })
    .join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row
          .map((cell, i) => {
            const column = columns[i]!;
            const cls = [column.numeric ? 'num' : '', column.wrap ? 'wrap' : '', cell.className ?? '']
              .filter(Boolean)
              .join(' ');
            const value =
              cell.value === undefined
                ? ''
                : ` data-value="${cell.value === null ? '' : escapeHtml(String(cell.value))}"`;
            return `<td${cls ? ` class="${cls}"` : ''}${value}>${cell.html}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const attributes = `${options.id ? ` id="${options.id}"` : ''}${options.sortable ? ' data-sortable=""' : ''}`;
  return `<div class="scroll"><table${attributes}><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

const text = (value: string): Cell => ({ html: escapeHtml(value), value });
const none = (): Cell => ({ html: '–', value: null });

/** A median with its interval and the confidence that interval reaches, and ≥ for lower bounds. */
function estimateCell(
  value: number | null | undefined,
  interval: { ciLow: number; ciHigh: number; confidence: number; confidenceTarget: number } | null,
  digits: number,
  mark = '',
): Cell {
  if (value === null || value === undefined) return none();
  const ci =
    interval === null ? '' : ` <span class="ci">${escapeHtml(intervalText(interval, digits))}</span>`;
  return { html: `<span class="v">${mark}${escapeHtml(fmt(value, digits))}</span>${ci}`, value };
}

/** The scenario's id, with the server it ran under it. */
function scenarioCell(s: ScenarioResult): Cell {
  return {
    html: `<span class="v">${escapeHtml(s.id)}</span> <span class="ci">${escapeHtml(s.label)}</span>`,
    value: s.id,
  };
}

function withNote(cell: Cell, note: string | null): Cell {
  return note === null ? cell : { ...cell, html: `${cell.html} <span class="ci">${escapeHtml(note)}</span>` };
}

function statCell(s: StatSummary | null | undefined, digits: number, mark = ''): Cell {
  return s == null ? none() : estimateCell(s.median, s, digits, mark);
}

/** baseline, –, or the ratio (or efficiency) as the view writes it: figure, interval, note. */
function ratioCell(r: RatioView): Cell {
  if (r.kind === 'baseline') return { html: 'baseline', value: 1 };
  if (r.kind === 'none') return none();
  return withNote(
    {
      html: `<span class="v">${escapeHtml(r.figure)}</span> <span class="ci">${escapeHtml(r.interval)}</span>`,
      value: r.ratio.ratio,
    },
    r.note,
  );
}

/** Server CPU per response and the efficiency to nginx (never marked ≥), in a run with costs. */
function costCells(s: ScenarioResult): Cell[] {
  if (s.skipped !== null) return [none(), none()];
  return [statCell(serverCpuView(s)?.stat, COST_DIGITS), ratioCell(efficiencyView(s))];
}

const COST_COLUMNS: Column[] = [
  { title: 'Server CPU µs/response', numeric: true },
  { title: 'Efficiency vs nginx', numeric: true },
];

function list(items: string[]): string {
  return `<ul>${items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
}

function paragraph(content: string, className?: string): string {
  return `<p${className ? ` class="${className}"` : ''}>${escapeHtml(content)}</p>`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}" aria-labelledby="${id}-title">\n<h2 id="${id}-title">${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

function subtitle(results: ResultsFile): string {
  const p = results.plan;
  const load = p.durationSeconds !== null ? `${p.durationSeconds} s` : `${fmt(p.requests)} requests`;
  const rounds =
    results.stopping.length > 0 ? results.stopping.map((g) => g.rounds).join('/') : String(p.repetitions);
  return `Run ${results.run.id} · ${results.run.startedAt} · profile ${results.run.profile} · suite ${results.run.suite} · ${p.tool}, ${p.sweep.connections.join(',')} connections, ${load} per repetition, ${rounds} rounds`;
}

async function seedCharts(results: ResultsFile): Promise<string[]> {
  const model = buildTable(results);
  const categories = model.rows.map((r) => r.label);
  const figures: string[] = [];
  for (const metric of METRICS) {
    for (const payload of model.payloads) {
      const data: BarDatum[] = model.rows.map((row) => {
        const scenario = row.cells.get(payload);
        const s = stat(scenario, metric);
        return {
          category: row.label,
          value: s?.median ?? null,
          ciLow: s?.ciLow ?? null,
          ciHigh: s?.ciHigh ?? null,
          ...(s === null || scenario === undefined ? {} : { tooltip: barTooltip(scenario, metric, s) }),
        };
      });
      const title = metricTitle(metric, payload);
      const svg = await barChartSvg(data, {
        title,
        yTitle: metricLabel(metric),
        format: D3_FORMAT[metric],
        width: BAR_WIDTH,
        height: BAR_HEIGHT,
        categories,
      });
      figures.push(figure(svg, figures.length, title));
    }
  }
  return figures;
}

/** The cost charts (server CPU per response, efficiency to nginx) of a run with costs. */
async function costFigures(results: ResultsFile, firstIndex: number): Promise<string[]> {
  const figures: string[] = [];
  for (const chart of costCharts(results)) {
    const digits = chart.rule === undefined ? 2 : 4;
    const data = chart.data.map((d) =>
      d.value === null
        ? d
        : {
            ...d,
            tooltip: `${d.category}${d.series ? ` (${d.series})` : ''}; ${chart.yTitle}: ${exact(d.value, digits)}${d.ciLow === null || d.ciHigh === null ? '' : `; interval ${exact(d.ciLow, digits)} – ${exact(d.ciHigh, digits)}`}`,
          },
    );
    const svg = await barChartSvg(data, {
      title: chart.title,
      yTitle: chart.yTitle,
      format: chart.format,
      width: BAR_WIDTH,
      height: BAR_HEIGHT,
      categories: chart.categories,
      ...(chart.series === undefined ? {} : { series: chart.series }),
      ...(chart.rule === undefined ? {} : { rule: chart.rule }),
    });
    figures.push(figure(svg, firstIndex + figures.length, chart.title));
  }
  return figures;
}

function barTooltip(s: ScenarioResult, metric: Metric, st: StatSummary): string {
  const digits = EXACT_DIGITS[metric];
  const summary = s.summary!;
  const r = summary.ratioToBaseline;
  return [
    `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
    `${metricLabel(metric)}: ${lowerBoundMark(s)}${exact(st.median, digits)} (median of ${st.n} valid repetition${st.n === 1 ? '' : 's'})`,
    `interval ${exact(st.ciLow, digits)} – ${exact(st.ciHigh, digits)}, confidence ${confidenceText(st)}`,
    ...(s.baseline ? ['the nginx baseline'] : r ? [`vs nginx ${exact(r.ratio, 4)}`] : []),
    ...(lowerBoundMark(s) ? ['a lower bound: the load tool was saturated'] : []),
  ].join('; ');
}

function lineTooltip(chart: LineChartDefinition, d: LineDatum): string {
  const digits = chart.format.includes('.0f') ? 2 : 4;
  return [
    `${d.series}`,
    `${chart.xTitle}: ${d.x}`,
    `${chart.yTitle}: ${d.lowerBound ? MARKS.lower : ''}${d.y === null ? '–' : exact(d.y, digits)}`,
    ...(d.low != null && d.high != null
      ? [`interval ${exact(d.low, digits)} – ${exact(d.high, digits)}`]
      : []),
    ...(d.lowerBound ? ['a lower bound: the load tool was saturated'] : []),
  ].join('; ');
}

function summarySection(results: ResultsFile): string {
  const axes = sweptAxes(results);
  const costs = hasCosts(results);
  // The figures first, so a phone shows them beside the scenario before any scrolling.
  const columns: Column[] = [
    { title: 'Scenario' },
    { title: 'Payload', numeric: true },
    { title: 'Responses/s', numeric: true },
    { title: 'vs nginx', numeric: true },
    ...(costs ? COST_COLUMNS : []),
    { title: 'MB/s', numeric: true },
    { title: 'p99 (ms)', numeric: true },
    { title: 'CV', numeric: true },
    { title: 'Valid reps', numeric: true },
    ...(axes.any ? [{ title: 'Point' }] : []),
  ];
  const rows = results.scenarios.map((s): Cell[] => {
    const summary = s.summary;
    const rps = summary?.requestsPerSecond ?? null;
    const p99 = p99View(s);
    return [
      scenarioCell(s),
      { html: escapeHtml(payloadLabel(s.payloadBytes)), value: s.payloadBytes },
      s.skipped !== null
        ? { html: 'skipped', value: null, className: 'bad' }
        : statCell(rps, DIGITS.requestsPerSecond, lowerBoundMark(s)),
      ratioCell(ratioView(s)),
      ...(costs ? costCells(s) : []),
      statCell(summary?.megabytesPerSecond, DIGITS.megabytesPerSecond),
      p99 === null ? none() : { html: p99.text, value: p99.ms },
      rps ? { html: `${fmt(rps.cv * 100, 1)}%`, value: rps.cv } : none(),
      s.skipped !== null
        ? { html: validText(s), value: -1, className: 'bad' }
        : { html: validText(s), value: summary?.validRepetitions ?? 0 },
      ...(axes.any ? [text(pointLabel(s.point))] : []),
    ];
  });
  const parts = [
    paragraph(
      [
        `Machine: ${machineLabel(results)}.`,
        quotaNote(results),
        `Medians over valid repetitions; under each, the interval of the median and the confidence it reaches. ≥: ${LOWER_BOUND_NOTE}.`,
      ]
        .filter((part) => part !== null)
        .join(' '),
    ).replace('</p>', ' <span class="hint">Click a column to sort.</span></p>'),
    table(columns, rows, { sortable: true, id: 'summary-table' }),
    paragraph(intervalExplanation(results), 'note'),
  ];
  const withLatency = results.scenarios.filter((s) => s.summary?.latency != null);
  if (withLatency.length > 0) {
    parts.push(
      '<h3>Latency (ms): median over repetitions of each percentile, [min, max] over repetitions</h3>',
      table(
        [
          { title: 'Scenario' },
          { title: 'Payload', numeric: true },
          ...LATENCY_PERCENTILES.map(([, name]) => ({ title: name, numeric: true })),
        ],
        withLatency.map((s) => {
          const latency = s.summary!.latency!;
          return [
            scenarioCell(s),
            { html: escapeHtml(payloadLabel(s.payloadBytes)), value: s.payloadBytes },
            ...LATENCY_PERCENTILES.map(([key]): Cell => {
              const st = latency[key];
              return st === null
                ? none()
                : {
                    html: `<span class="v">${upperBoundMark(s)}${fmt(st.median / 1000, 2)}</span> <span class="ci">[${fmt(st.min / 1000, 2)}, ${fmt(st.max / 1000, 2)}]</span>`,
                    value: st.median / 1000,
                  };
            }),
          ];
        }),
      ),
    );
  }
  const skipped = results.scenarios.filter((s) => s.skipped !== null);
  if (skipped.length > 0) {
    parts.push(
      '<h3>Skipped scenarios</h3>',
      list(skipped.map((s) => `${s.id} (${s.label}, ${payloadLabel(s.payloadBytes)}): ${s.skipped}`)),
    );
  }
  const stops = results.stopping.filter((g) => g.stoppedBy !== 'fixed');
  if (stops.length > 0) {
    parts.push('<h3>Adaptive repetitions</h3>', list(stops.map(stoppingText)));
  }
  parts.push(
    '<h3>Servers</h3>',
    list(results.scenarios.map((s) => `${s.id}: ${describeServer(s.server)}${s.url ? ` at ${s.url}` : ''}`)),
  );
  return section('summary', 'Medians, intervals and ratios to nginx', parts.join('\n'));
}

async function scalingSection(results: ResultsFile, firstIndex: number): Promise<string> {
  const charts = scalingCharts(results);
  const caveats = sweepCaveats(results);
  if (charts.length === 0 && caveats.length === 0) return '';
  const figures: string[] = [];
  for (const chart of charts) {
    const data = chart.data.map((d) =>
      d.reference || d.y === null ? d : { ...d, tooltip: lineTooltip(chart, d) },
    );
    const svg = await lineChartSvg(data, {
      title: chart.title,
      subtitle: chart.subtitle,
      xTitle: chart.xTitle,
      yTitle: chart.yTitle,
      format: chart.format,
      width: LINE_WIDTH,
      height: LINE_HEIGHT,
      series: chart.series,
      logX: chart.logX,
      ...(chart.rule === undefined ? {} : { rule: chart.rule }),
    });
    figures.push(figure(svg, firstIndex + figures.length, chart.title));
  }
  const parts = [
    `<p>${escapeHtml('Every point ran in every round, interleaved with nginx at the same point. Speedup is paired by round against the fewest workers; whiskers are the order-statistic intervals of the medians. Hollow markers: the load tool was saturated, so the point is a lower bound.')} <span class="hint">Hover a point for its exact figures.</span></p>`,
    figures.length > 0 ? `<div class="charts">${figures.join('\n')}</div>` : '',
    caveats.length > 0 ? list(caveats) : '',
  ];
  const points = results.scenarios.filter((s) => s.summary !== null && s.id !== s.scenarioId);
  if (points.length > 0) {
    const curveOf = new Map(results.scaling.flatMap((c) => c.points.map((p) => [p.resultId, p] as const)));
    parts.push(
      '<h3>Every point: medians, speedup, efficiency, fairness</h3>',
      table(
        [
          { title: 'Result' },
          { title: 'Point' },
          { title: 'Responses/s', numeric: true },
          { title: 'vs nginx', numeric: true },
          { title: 'Speedup', numeric: true },
          { title: 'Efficiency', numeric: true },
          { title: 'Fairness req/conn', numeric: true },
          { title: 'Busiest worker', numeric: true },
          { title: 'p99 (ms)', numeric: true },
        ],
        points.map((s): Cell[] => {
          const summary = s.summary!;
          const c = curveOf.get(s.id);
          const p99 = summary.latency?.p99Micros ?? null;
          return [
            text(s.id),
            text(pointLabel(s.point)),
            statCell(summary.requestsPerSecond, 0, lowerBoundMark(s)),
            ratioCell(ratioView(s)),
            c?.speedup ? estimateCell(c.speedup.value, c.speedup, 2) : none(),
            c?.efficiency ? estimateCell(c.efficiency.value, c.efficiency, 2) : none(),
            summary.fairnessRequests == null
              ? none()
              : {
                  html: `${fmt(summary.fairnessRequests, 2)} / ${fmt(summary.fairnessConnections, 2)}`,
                  value: summary.fairnessRequests,
                },
            summary.busiestShareConnections == null
              ? none()
              : {
                  html: `${fmt(100 * summary.busiestShareConnections, 0)}%`,
                  value: summary.busiestShareConnections,
                },
            p99 === null ? none() : { html: fmt(p99.median / 1000, 2), value: p99.median / 1000 },
          ];
        }),
      ),
    );
  }
  return section('scaling', 'Scaling: the curve, not the point', parts.join('\n'));
}

/** A group's two latency charts: against offered load, and the spectrum at one rate. */
async function latencyFigures(g: LatencyGroup, firstIndex: number): Promise<string[]> {
  const series = g.servers.map((s) => s.name);
  const curve = await latencyChartSvg(
    g.curveData.map((d) => ({
      ...d,
      tooltip: `${d.series}; ${d.line} at ${d.rateStep} (${exact(d.x, 0)}/s offered): ${exact(d.y, 3)} ms${d.low === null || d.high === null ? '' : `; interval ${exact(d.low, 3)} – ${exact(d.high, 3)}`}${d.behind ? '; fell behind the offered rate' : ''}`,
    })),
    {
      title: g.curveTitle,
      subtitle: g.curveSubtitle,
      width: LINE_WIDTH,
      height: LINE_HEIGHT,
      series,
      xTitle: 'Offered responses/s',
    },
  );
  const figures = [figure(curve, firstIndex, g.curveTitle)];
  if (g.spectrumData.length > 0) {
    const spectrum = await spectrumChartSvg(g.spectrumData, {
      title: g.spectrumTitle,
      width: LINE_WIDTH,
      height: LINE_HEIGHT,
      series,
      xTitle: 'Percentile (HdrHistogram axis: 1/(1-p), log)',
    });
    const caption = spectrumCaption(g);
    figures.push(
      figure(spectrum, firstIndex + 1, g.spectrumTitle).replace(
        '</figure>',
        caption === null
          ? '</figure>'
          : `<figcaption class="note">${escapeHtml(caption)}</figcaption></figure>`,
      ),
    );
  }
  return figures;
}

/** Latency against offered load, the spectra and the capacities of an open-loop rate sweep. */
async function latencySection(results: ResultsFile, firstIndex: number): Promise<string> {
  const groups = latencyGroups(results);
  if (groups.length === 0) return '';
  const figures: string[] = [];
  for (const g of groups) figures.push(...(await latencyFigures(g, firstIndex + figures.length)));
  const parts = [
    `<p class="note">${escapeHtml(latencyExplanation(results))} <span class="hint">Hover a point for its exact figures.</span></p>`,
    `<div class="charts">${figures.join('\n')}</div>`,
  ];
  const capacities = capacityRows(results);
  if (capacities.length > 0) {
    parts.push(
      '<h3>Capacity at each latency objective (responses/s offered)</h3>',
      table(
        [
          { title: 'Server' },
          { title: 'Payload', numeric: true },
          { title: 'Objective' },
          { title: 'Capacity', numeric: true },
          { title: 'vs nginx', numeric: true },
        ],
        capacities.map((r): Cell[] => [
          {
            html: `<span class="v">${escapeHtml(r.server)}</span> <span class="ci">${escapeHtml(r.scenarioId)}</span>`,
            value: r.server,
          },
          { html: escapeHtml(payloadLabel(r.payloadBytes)), value: r.payloadBytes },
          text(r.slo),
          {
            html: `<span class="v">${escapeHtml(r.figure)}</span> <span class="ci">${escapeHtml(r.interval || r.censoredText)}</span>`,
            value: r.capacity.ratePerSecond?.value ?? null,
          },
          {
            html: `<span class="v">${escapeHtml(r.ratioFigure)}</span> <span class="ci">${escapeHtml(r.ratioInterval)}</span>`,
            value: r.capacity.ratioToBaseline?.ratio ?? null,
          },
        ]),
        { sortable: true, id: 'capacity-table' },
      ),
    );
  }
  parts.push(
    '<h3>Every rate step: offered and achieved responses/s, latency (ms, median over repetitions)</h3>',
    table(
      [
        { title: 'Server' },
        { title: 'Payload', numeric: true },
        { title: 'Step' },
        { title: 'Offered/s', numeric: true },
        { title: 'Achieved/s', numeric: true },
        { title: 'Kept up' },
        ...['p50', 'p90', 'p99', 'p99.9', 'max'].map((title) => ({ title, numeric: true })),
        { title: 'Valid reps', numeric: true },
      ],
      latencyPointRows(results).map((r): Cell[] => [
        text(r.server),
        { html: escapeHtml(payloadLabel(r.payloadBytes)), value: r.payloadBytes },
        text(r.point.rateStep),
        { html: fmt(r.point.offeredPerSecond), value: r.point.offeredPerSecond },
        statCell(r.point.achievedPerSecond, 0),
        r.point.keptUp === false
          ? { ...text(keptUpText(r.point)), className: 'bad' }
          : text(keptUpText(r.point)),
        ...r.percentiles.map((st) =>
          st === null
            ? none()
            : statCell(
                { ...st, median: st.median / 1000, ciLow: st.ciLow / 1000, ciHigh: st.ciHigh / 1000 },
                2,
                r.mark,
              ),
        ),
        { html: String(r.point.validRepetitions), value: r.point.validRepetitions },
      ]),
      { sortable: true, id: 'latency-table' },
    ),
  );
  return section('latency', 'Latency under a constant offered load', parts.join('\n'));
}

function warningsSection(results: ResultsFile): string {
  const warnings = concerns(results);
  return section(
    'warnings',
    'Warnings',
    warnings.length === 0
      ? paragraph('None: every repetition was valid, none was client-bound, and every tuning check passed.')
      : `<ul class="warnings">${warnings
          .map(
            (c) =>
              `<li>${c.scenario ? `<span class="tag">${escapeHtml(c.scenario)}</span> ` : ''}${escapeHtml(c.text)}</li>`,
          )
          .join('')}</ul>`,
  );
}

function pairsTable(pairs: [string, string][]): string {
  return table(
    [
      { title: 'Item', wrap: true },
      { title: 'Value', wrap: true },
    ],
    pairs.map(([k, v]) => [text(k), text(v)]),
  );
}

function environmentSection(results: ResultsFile): string {
  const parts = [
    '<h3>Run and protocol</h3>',
    pairsTable(runPairs(results)),
    '<h3>Machine</h3>',
    pairsTable(environmentPairs(results)),
  ];
  if (results.hosts.length > 0) {
    parts.push(
      '<h3>Other hosts</h3>',
      table(
        [
          { title: 'Host' },
          { title: 'Roles' },
          { title: 'Hostname' },
          { title: 'CPU', wrap: true },
          { title: 'Cores', numeric: true },
          { title: 'Kernel' },
          { title: 'Clock offset (ms)', numeric: true },
        ],
        results.hosts.map((h) => [
          text(h.name),
          text(h.roles.join(', ')),
          text(h.hostname),
          text(h.cpuModel),
          { html: String(h.logicalCores), value: h.logicalCores },
          text(h.kernel ?? '(unknown)'),
          h.clockOffsetMs === null ? none() : { html: fmt(h.clockOffsetMs, 1), value: h.clockOffsetMs },
        ]),
      ),
    );
  }
  const tuning = [
    ...results.tuning.map((t) => ({ host: null as string | null, t })),
    ...results.hosts.flatMap((h) => h.tuning.map((t) => ({ host: h.name as string | null, t }))),
  ];
  if (tuning.length > 0) {
    const hosts = results.hosts.length > 0;
    parts.push(
      '<h3>Tuning checks</h3>',
      table(
        [
          ...(hosts ? [{ title: 'Host' }] : []),
          { title: 'Setting' },
          { title: 'Actual' },
          { title: 'Recommended' },
          { title: 'OK' },
          { title: 'What a shortfall limits', wrap: true },
          { title: 'Fix', wrap: true },
        ],
        tuning.map(({ host, t }) => [
          ...(hosts ? [text(host ?? 'this machine')] : []),
          text(t.setting),
          text(t.actual ?? '(unreadable)'),
          text(t.recommended),
          t.ok ? { html: 'yes', value: 'yes' } : { html: 'NO', value: 'NO', className: 'bad' },
          text(t.impact),
          { html: `<code>${escapeHtml(t.fix)}</code>`, value: t.fix },
        ]),
      ),
    );
  }
  return section('environment', 'Environment and tuning', parts.join('\n'));
}

function repetitionsSection(results: ResultsFile): string {
  const ms = (micros: number | null): Cell =>
    micros === null ? none() : { html: fmt(micros / 1000, 2), value: micros / 1000 };
  const pct = (share: number | null | undefined): Cell =>
    share == null ? none() : { html: `${fmt(100 * share, 0)}%`, value: share };
  type Rep = { s: ScenarioResult; rep: ScenarioResult['repetitions'][number] };
  // The figures first, so a phone shows them beside the scenario before any scrolling.
  const columns: [Column, (r: Rep) => Cell][] = [
    [{ title: 'Scenario' }, ({ s }) => scenarioCell(s)],
    [{ title: 'Round', numeric: true }, ({ rep }) => ({ html: String(rep.round), value: rep.round })],
    [
      { title: 'Responses/s', numeric: true },
      ({ rep }) => ({ html: fmt(rep.load.requestsPerSecond, 0), value: rep.load.requestsPerSecond }),
    ],
    [
      { title: 'MB/s', numeric: true },
      ({ rep }) => ({ html: fmt(rep.load.megabytesPerSecond, 2), value: rep.load.megabytesPerSecond }),
    ],
    [
      { title: 'Valid' },
      ({ rep }) =>
        rep.verdict.valid ? { html: 'yes', value: 'yes' } : { html: 'no', value: 'no', className: 'bad' },
    ],
    [
      { title: 'Client-bound' },
      ({ rep }) =>
        rep.verdict.clientBound ? { html: 'yes', value: 'yes', className: 'bad' } : { html: '', value: '' },
    ],
    [{ title: 'p50 (ms)', numeric: true }, ({ rep }) => ms(rep.load.latency.p50Micros)],
    [{ title: 'p99 (ms)', numeric: true }, ({ rep }) => ms(rep.load.latency.p99Micros)],
    [{ title: 'Max (ms)', numeric: true }, ({ rep }) => ms(rep.load.latency.maxMicros)],
    [
      { title: 'Succeeded', numeric: true },
      ({ rep }) => ({ html: fmt(rep.load.requests.succeeded), value: rep.load.requests.succeeded }),
    ],
    [
      { title: 'Failed', numeric: true },
      ({ rep }) => {
        const failed = rep.load.requests.failed + rep.load.requests.errored + rep.load.requests.timedOut;
        return { html: fmt(failed), value: failed };
      },
    ],
    [{ title: 'Tool CPU', numeric: true }, ({ rep }) => pct(rep.load.toolCpu?.utilisation)],
    [{ title: 'Server CPU', numeric: true }, ({ rep }) => pct(rep.serverCpuUtilisation)],
    [
      { title: 'Payload', numeric: true },
      ({ s }) => ({ html: escapeHtml(payloadLabel(s.payloadBytes)), value: s.payloadBytes }),
    ],
    [{ title: 'Point' }, ({ s }) => text(pointLabel(s.point))],
    [{ title: 'Started' }, ({ rep }) => text(rep.startedAt)],
    [
      { title: 'Notes', wrap: true },
      ({ rep }) => ({
        ...text(
          [
            ...rep.verdict.reasons,
            ...(rep.verdict.clientBound ? [rep.verdict.clientBoundReason ?? 'client-bound'] : []),
            ...rep.load.notes,
          ].join('; '),
        ),
        className: 'small',
      }),
    ],
  ];
  const reps = results.scenarios.flatMap((s) => s.repetitions.map((rep) => ({ s, rep })));
  const body =
    reps.length === 0
      ? paragraph('No repetitions were measured.')
      : [
          paragraph(
            `One row per measured repetition (${reps.length}), in run order: the load tool's own figures before any statistics. Invalid repetitions are listed but never enter the medians.`,
          ).replace(
            '</p>',
            ' <span class="hint">Click a column to sort it (numeric columns by value); without JavaScript the table stays in run order.</span></p>',
          ),
          table(
            columns.map(([c]) => c),
            reps.map((r) => columns.map(([, cell]) => cell(r))),
            { sortable: true, id: 'repetitions-table' },
          ),
        ].join('\n');
  return section('repetitions', 'Every repetition', body);
}

/** Sorts tables marked data-sortable by a header click; numeric columns by their data-value. */
const SCRIPT = `(function () {
  'use strict';
  var tables = document.querySelectorAll('table[data-sortable]');
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement('button');
      button.type = 'button';
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener('click', function () {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var numeric = th.hasAttribute('data-numeric');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[column];
          var raw = cell.hasAttribute('data-value') ? cell.getAttribute('data-value') : cell.textContent;
          if (!numeric) return raw;
          return raw === '' ? NaN : Number(raw);
        };
        rows.sort(function (a, b) {
          var x = key(a);
          var y = key(b);
          if (numeric) {
            if (isNaN(x) || isNaN(y)) return isNaN(x) ? (isNaN(y) ? 0 : 1) : -1;
            return ascending ? x - y : y - x;
          }
          var order = x.localeCompare(y, 'en', { numeric: true });
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();`;

const STYLE = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font-family:'${FONT_FAMILY}',sans-serif;font-size:15px;line-height:1.45;color:#111;background:#fff}
header,main,footer{max-width:1240px;margin:0 auto;padding:0 16px}
header{padding-top:16px}
h1{font-size:1.4rem;font-weight:normal;margin:0 0 .3em}
h2{font-size:1.2rem;font-weight:normal;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid #4F81BD}
h3{font-size:1rem;font-weight:normal;margin:1.3em 0 .4em;color:#333}
p,li{max-width:75em}
.sub{color:#444;font-size:.85rem;margin:0 0 .6em;overflow-wrap:anywhere}
nav ul{list-style:none;padding:0;margin:.4em 0 0;display:flex;flex-wrap:wrap;gap:.3em 1em;font-size:.9rem}
a{color:#1f5fa8}
.note{font-size:.85rem;color:#333}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:12px 20px}
figure{margin:0}
.chart svg{display:block;width:100%;max-width:100%;height:auto}
.chart svg [aria-roledescription=bar]:hover,.chart svg [aria-roledescription=point]:hover{opacity:.75}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%;border:1px solid #d0d7de;margin:.4em 0 .8em}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #e1e4e8;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#DCE6F1;font-weight:normal}
.num{text-align:right;font-variant-numeric:tabular-nums}
.wrap{white-space:normal;min-width:9em;overflow-wrap:anywhere}
.scroll th:first-child,.scroll td:first-child{position:sticky;left:0;background:#fff;box-shadow:inset -1px 0 #e1e4e8}
.scroll th:first-child{background:#DCE6F1}
ul{padding-left:1.3em}
.ci{display:block;color:#555;font-size:11px}
.bad{color:#b00020}
.small{font-size:11px;white-space:normal;min-width:14em}
.tag{display:inline-block;background:#eef2f7;border:1px solid #d0d7de;border-radius:3px;padding:0 .3em;font-size:.85em}
code{font-family:inherit;font-size:.9em;background:#f4f4f4;padding:0 .2em}
th button{font:inherit;color:inherit;background:none;border:0;padding:0;cursor:pointer;text-align:inherit;white-space:nowrap}
th[aria-sort=ascending] button::after{content:' \\25B2'}
th[aria-sort=descending] button::after{content:' \\25BC'}
footer{color:#666;font-size:.8rem;margin:2em auto 1em}
@media (max-width:600px){body{font-size:14px}header,main,footer{padding:0 10px}header{padding-top:10px}h1{font-size:1.15rem}table{font-size:12px}th,td{padding:3px 6px}}
@media print{
@page{margin:12mm}
body{font-size:9.5pt}
header,main,footer{max-width:none;padding:0}
nav{display:none}
section{break-before:page}
main>section:first-child{break-before:auto}
.hint{display:none}
.scroll{overflow:visible;border:0}
.scroll th:first-child,.scroll td:first-child{position:static;box-shadow:none}
table{font-size:7.5pt;width:auto;max-width:100%}
th,td{white-space:normal;padding:2px 4px}
.wrap,.small{min-width:0}
thead{display:table-header-group}
tr,figure,li{break-inside:avoid}
h2,h3{break-after:avoid}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:8px}
a{color:inherit;text-decoration:none}
th{background:#DCE6F1;-webkit-print-color-adjust:exact;print-color-adjust:exact}
}`;

let fontFace: string | undefined;
function fontCss(): string {
  fontFace ??= `@font-face{font-family:'${FONT_FAMILY}';font-style:normal;font-weight:400;src:url(data:font/ttf;base64,${fontData().toString('base64')}) format('truetype')}`;
  return fontFace;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

export async function renderHtml(input: ResultsFile, context: RenderContext = {}): Promise<Uint8Array> {
  const results = displayResults(input);
  // A run without profiles gets no profile section, style or script: its page stays as it was.
  const profiles = profilesSection(results, context.profiles, escapeHtml);
  const scripts = profiles === '' ? [SCRIPT] : [SCRIPT, FLAME_SCRIPT];
  const title = `Scaling a multi-process Node server against nginx on ${machineLabel(results)}`;
  const bars = await seedCharts(results);
  const costs = await costFigures(results, bars.length);
  const scaling = await scalingSection(results, bars.length + costs.length);
  const latency = await latencySection(results, bars.length + costs.length + scalingCharts(results).length);
  const sections = [
    section(
      'charts',
      'Served responses and megabytes per second',
      `<p class="note">${escapeHtml(['Bars: medians over valid repetitions; whiskers: the order-statistic interval of the median (the confidence it reaches is in the table below).', quotaNote(results)].filter((part) => part !== null).join(' '))} <span class="hint">Hover a bar for its exact figures.</span></p>\n<div class="charts">${bars.join('\n')}</div>`,
    ),
    costs.length === 0
      ? ''
      : section(
          'costs',
          'Cost per response',
          `<p class="note">${escapeHtml(`Bars: medians over valid repetitions; whiskers: their intervals. ${EFFICIENCY_NOTE[0]!.toUpperCase()}${EFFICIENCY_NOTE.slice(1)}.`)}</p>\n<div class="charts">${costs.join('\n')}</div>`,
        ),
    summarySection(results),
    latency,
    scaling,
    profiles,
    warningsSection(results),
    environmentSection(results),
    section('methodology', 'Methodology', list(METHODOLOGY)),
    repetitionsSection(results),
  ].filter(Boolean);
  const nav = [
    ['charts', 'Charts'],
    ...(costs.length > 0 ? [['costs', 'Cost per response']] : []),
    ['summary', 'Medians and ratios'],
    ...(latency ? [['latency', 'Latency under load']] : []),
    ...(scaling ? [['scaling', 'Scaling']] : []),
    ...(profiles ? [['profiles', 'Where the CPU goes']] : []),
    ['warnings', `Warnings (${concerns(results).length})`],
    ['environment', 'Environment'],
    ['methodology', 'Methodology'],
    ['repetitions', 'Every repetition'],
  ];
  // Nothing may leave the page: inline styles and fonts, this one script by its hash, data: icons.
  const policy = [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    'font-src data:',
    'img-src data:',
    `script-src ${scripts.map((script) => `'sha256-${sha256(script)}'`).join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="generator" content="scaleup report ${escapeHtml(results.run.scaleupVersion)}">
<title>${escapeHtml(`scaleup results: ${machineLabel(results)}`)}</title>
<link rel="icon" href="data:,">
<style>${fontCss()}${STYLE}${profiles === '' ? '' : FLAME_STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${paragraph(subtitle(results), 'sub')}
<nav aria-label="Sections"><ul>${nav.map(([id, label]) => `<li><a href="#${id}">${escapeHtml(label!)}</a></li>`).join('')}</ul></nav>
</header>
<main>
${sections.join('\n')}
</main>
<footer>${escapeHtml(`scaleup ${results.run.scaleupVersion} · ${results.environment.hostname} · run ${results.run.id} · made from results.json alone (no network, no clock)`)}</footer>
${scripts.map((script) => `<script>${script}</script>`).join('\n')}
</body>
</html>
`;
  return new TextEncoder().encode(page);
}

export const htmlExporter: Exporter = {
  name: 'html',
  extension: '.html',
  render: renderHtml,
};
