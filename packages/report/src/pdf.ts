import type { ResultsFile, ScenarioResult } from '@scaleup/core';
import { median } from '@scaleup/core';
import { type BarDatum, barChartSvg, lineChartSvg } from './charts.ts';
import {
  displayResults,
  EFFICIENCY_NOTE,
  efficiencyView,
  hasCosts,
  LOWER_BOUND_NOTE,
  quotaNote,
  type RatioView,
  ratioView,
  rpsView,
  serverCpuView,
  stoppingText,
  upperBoundMark,
  validText,
} from './display.ts';
import type { Exporter, RenderContext } from './exporter.ts';
import { textWidth } from './font.ts';
import { D3_FORMAT, fmt, fmtCi, METHODOLOGY } from './format.ts';
import {
  buildTable,
  concerns,
  costCharts,
  describeServer,
  environmentPairs,
  HOST_COLUMNS,
  hostRows,
  intervalExplanation,
  LATENCY_PERCENTILES,
  METRICS,
  machineLabel,
  metricLabel,
  metricTitle,
  payloadLabel,
  pointLabel,
  type ResultsTable,
  reportDate,
  runPairs,
  scalingCharts,
  stat,
  sweepCaveats,
} from './model.ts';
import {
  bullets,
  contentWidth,
  createDoc,
  drawSvg,
  FONT,
  finishDoc,
  heading,
  MARGIN,
  paragraph,
  table,
} from './pdf-doc.ts';
import { latencyPages } from './pdf-latency.ts';
import { profilePages } from './pdf-profile.ts';

/** Page 1: the seed's page, the headline charts in a grid, now with CI whiskers. */
export async function chartsPage(
  doc: PDFKit.PDFDocument,
  results: ResultsFile,
  table: ResultsTable,
): Promise<void> {
  const title = `Scaling a multi-process Node server against nginx on ${machineLabel(results)}`;
  const p = results.plan;
  const load = p.durationSeconds !== null ? `${p.durationSeconds} s` : `${fmt(p.requests)} requests`;
  const rounds =
    results.stopping.length > 0 ? results.stopping.map((g) => g.rounds).join('/') : String(p.repetitions);
  const connections = p.sweep.connections.join(',');
  const quota = quotaNote(results);
  const subtitle = `Run ${results.run.id} · ${results.run.startedAt} · profile ${results.run.profile} · ${p.tool}, ${connections} connections, ${load} per repetition, ${rounds} rounds · bars: medians, whiskers: order-statistic interval of the median (confidence in the table)${quota === null ? '' : ` · ${quota}`}`;
  // One line each when the font can shrink enough; long CPU names wrap rather than overflow.
  const fit = (text: string, max: number, min: number) =>
    Math.max(min, Math.min(max, (max * contentWidth(doc)) / Math.max(1, textWidth(text, max))));
  doc
    .font(FONT)
    .fontSize(fit(title, 15, 11))
    .fillColor('#000000')
    .text(title, MARGIN, MARGIN, { width: contentWidth(doc), align: 'center' });
  doc
    .fontSize(fit(subtitle, 8.5, 6.5))
    .fillColor('#333333')
    .text(subtitle, MARGIN, doc.y + 2, { width: contentWidth(doc), align: 'center' });
  const top = doc.y + 8;
  const columns = Math.max(1, table.payloads.length);
  const gap = 14;
  const cellWidth = (contentWidth(doc) - gap * (columns - 1)) / columns;
  const cellHeight = (doc.page.height - MARGIN - 10 - top - gap) / 2;
  const categories = table.rows.map((r) => r.label);
  for (const [m, metric] of METRICS.entries()) {
    for (const [c, payload] of table.payloads.entries()) {
      const data: BarDatum[] = table.rows.map((row) => {
        const s = stat(row.cells.get(payload), metric);
        return {
          category: row.label,
          value: s?.median ?? null,
          ciLow: s?.ciLow ?? null,
          ciHigh: s?.ciHigh ?? null,
        };
      });
      const svg = await barChartSvg(data, {
        title: metricTitle(metric, payload),
        yTitle: metricLabel(metric),
        format: D3_FORMAT[metric],
        width: cellWidth,
        height: cellHeight,
        categories,
      });
      drawSvg(doc, svg, MARGIN + c * (cellWidth + gap), top + m * (cellHeight + gap), cellWidth, cellHeight);
    }
  }
}

/** A ratio cell: the figure, its interval under it, and the note on unpaired rounds. */
function ratioCell(r: RatioView): string {
  if (r.kind === 'baseline') return 'baseline';
  if (r.kind === 'none') return '–';
  return `${r.figure}\n${r.interval}${r.note === null ? '' : ` (${r.note})`}`;
}

/** Server CPU per response and the efficiency to nginx (never marked ≥), in a run with costs. */
function costCells(s: ScenarioResult): string[] {
  if (s.skipped !== null) return ['–', '–'];
  const cpu = serverCpuView(s);
  return [cpu === null ? '–' : `${cpu.figure}\n${cpu.interval}`, ratioCell(efficiencyView(s))];
}

function scenarioRows(results: ResultsFile, costs: boolean): string[][] {
  return results.scenarios.map((s) => {
    const rps = rpsView(s);
    const mbps = s.summary?.megabytesPerSecond ?? null;
    return [
      s.id,
      s.label,
      payloadLabel(s.payloadBytes),
      validText(s),
      rps === null ? '–\n' : `${rps.figure}\n${rps.interval}`,
      `${fmt(mbps?.median, 2)}\n${fmtCi(mbps?.ciLow, mbps?.ciHigh, 2)}`,
      ratioCell(ratioView(s)),
      ...(costs ? costCells(s) : []),
      rps ? `${fmt(rps.stat.cv * 100, 1)}%` : '–',
    ];
  });
}

/** After the seed's page, in a run with costs: what a response costs each server, as bars. */
export async function costPage(doc: PDFKit.PDFDocument, results: ResultsFile): Promise<void> {
  const charts = costCharts(results);
  if (charts.length === 0) return;
  doc.addPage();
  heading(doc, 'Cost per response: server CPU and efficiency to nginx');
  paragraph(
    doc,
    `Bars: medians over valid repetitions; whiskers: their intervals. ${EFFICIENCY_NOTE[0]!.toUpperCase()}${EFFICIENCY_NOTE.slice(1)}.`,
    8,
  );
  const top = doc.y + 4;
  const columns = Math.max(1, charts.length / 2);
  const gap = 12;
  const width = (contentWidth(doc) - gap * (columns - 1)) / columns;
  const height = (doc.page.height - MARGIN - 14 - top - gap) / 2;
  for (const [i, chart] of charts.entries()) {
    const svg = await barChartSvg(chart.data, {
      title: chart.title,
      yTitle: chart.yTitle,
      format: chart.format,
      width,
      height,
      categories: chart.categories,
      ...(chart.series === undefined ? {} : { series: chart.series }),
      ...(chart.rule === undefined ? {} : { rule: chart.rule }),
    });
    const x = MARGIN + (i % columns) * (width + gap);
    drawSvg(doc, svg, x, top + Math.floor(i / columns) * (height + gap), width, height);
  }
}

function workerRows(s: ScenarioResult): string[][] {
  const bySlot = new Map<number, { requests: number; connections: number }>();
  for (const rep of s.repetitions) {
    for (const w of rep.workers ?? []) {
      const entry = bySlot.get(w.slot) ?? { requests: 0, connections: 0 };
      entry.requests += w.requests;
      entry.connections += w.connections;
      bySlot.set(w.slot, entry);
    }
  }
  const totalRequests = [...bySlot.values()].reduce((sum, w) => sum + w.requests, 0);
  const totalConnections = [...bySlot.values()].reduce((sum, w) => sum + w.connections, 0);
  return [...bySlot.entries()]
    .sort(([a], [b]) => a - b)
    .map(([slot, w]) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      String(slot),
      fmt(w.requests),
      totalRequests ? `${fmt((100 * w.requests) / totalRequests, 1)}%` : '–',
      fmt(w.connections),
      totalConnections ? `${fmt((100 * w.connections) / totalConnections, 1)}%` : '–',
    ]);
}

function cpuRows(s: ScenarioResult): string[][] {
  const roles = new Map<string, { processes: number; user: number[]; system: number[] }>();
  for (const rep of s.repetitions) {
    const perRole = new Map<string, { processes: number; user: number; system: number }>();
    for (const p of rep.serverCpu) {
      const e = perRole.get(p.role) ?? { processes: 0, user: 0, system: 0 };
      e.processes++;
      e.user += p.userSeconds;
      e.system += p.systemSeconds;
      perRole.set(p.role, e);
    }
    for (const [role, e] of perRole) {
      const acc = roles.get(role) ?? { processes: 0, user: [], system: [] };
      acc.processes = Math.max(acc.processes, e.processes);
      acc.user.push(e.user);
      acc.system.push(e.system);
      roles.set(role, acc);
    }
  }
  const utilisation = s.repetitions.flatMap((r) =>
    r.serverCpuUtilisation === null ? [] : [r.serverCpuUtilisation],
  );
  return [...roles.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([role, e]) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      role,
      String(e.processes),
      fmt(median(e.user), 2),
      fmt(median(e.system), 2),
      fmt(median(e.user) / Math.max(1, e.processes) + median(e.system) / Math.max(1, e.processes), 2),
      utilisation.length ? `${fmt(100 * median(utilisation), 0)}%` : '–',
    ]);
}

/**
 * After the seed's page, for a sweep: the curves (throughput against workers with the ideal line,
 * efficiency, fairness; throughput and p99 against connections), then what they mean here.
 */
export async function scalingPage(doc: PDFKit.PDFDocument, results: ResultsFile): Promise<void> {
  const charts = scalingCharts(results);
  const caveats = sweepCaveats(results);
  if (charts.length === 0 && caveats.length === 0) return;
  doc.addPage();
  heading(doc, 'Scaling: the curve, not the point');
  paragraph(
    doc,
    `Every point ran in every round, interleaved with nginx at the same point. Speedup is paired by round against the fewest workers; whiskers are the order-statistic intervals of the medians. Hollow markers: the load tool was saturated, so the point is a lower bound.`,
    8,
  );
  const top = doc.y + 4;
  const caveatSpace = caveats.length > 0 ? 14 + 11 * caveats.length : 0;
  const columns = charts.length > 1 ? 2 : 1;
  const rows = Math.max(1, Math.ceil(charts.length / columns));
  const gap = 12;
  const width = (contentWidth(doc) - gap * (columns - 1)) / columns;
  const height = Math.max(120, (doc.page.height - MARGIN - 14 - top - caveatSpace - gap * (rows - 1)) / rows);
  for (const [i, chart] of charts.entries()) {
    const svg = await lineChartSvg(chart.data, {
      title: chart.title,
      subtitle: chart.subtitle,
      xTitle: chart.xTitle,
      yTitle: chart.yTitle,
      format: chart.format,
      width,
      height,
      series: chart.series,
      logX: chart.logX,
      ...(chart.rule === undefined ? {} : { rule: chart.rule }),
    });
    drawSvg(
      doc,
      svg,
      MARGIN + (i % columns) * (width + gap),
      top + Math.floor(i / columns) * (height + gap),
      width,
      height,
    );
  }
  doc.y = top + rows * (height + gap);
  if (caveats.length > 0) bullets(doc, caveats, 8);
  const points = results.scenarios.filter((s) => s.summary !== null && s.id !== s.scenarioId);
  if (points.length > 0) {
    doc.addPage();
    heading(doc, 'Every point: medians, speedup, efficiency, fairness');
    const curveOf = new Map(results.scaling.flatMap((c) => c.points.map((p) => [p.resultId, p] as const)));
    table(
      doc,
      [
        { title: 'Result', weight: 1.6 },
        { title: 'Point', weight: 1.5 },
        { title: 'Responses/s', weight: 1.6, align: 'right' },
        { title: 'vs nginx', weight: 1.4, align: 'right' },
        { title: 'Speedup', weight: 1.4, align: 'right' },
        { title: 'Efficiency', weight: 1.1, align: 'right' },
        { title: 'Fairness req/conn', weight: 1.2, align: 'right' },
        { title: 'Busiest worker', weight: 1, align: 'right' },
        { title: 'p99 ms', weight: 0.8, align: 'right' },
      ],
      points.map((s) => {
        const rps = rpsView(s);
        const r = ratioView(s);
        const c = curveOf.get(s.id);
        return [
          s.id,
          pointLabel(s.point),
          rps ? `${rps.figure}\n${rps.interval}` : '–',
          // The interval with the confidence it reaches, as on the headline page and the html.
          r.kind === 'ratio' ? `${r.figure}\n${r.interval}` : r.kind === 'baseline' ? 'baseline' : '–',
          c?.speedup ? `${fmt(c.speedup.value, 2)}\n${fmtCi(c.speedup.ciLow, c.speedup.ciHigh, 2)}` : '–',
          c?.efficiency ? fmt(c.efficiency.value, 2) : '–',
          s.summary?.fairnessRequests == null
            ? '–'
            : `${fmt(s.summary.fairnessRequests, 2)} / ${fmt(s.summary.fairnessConnections, 2)}`,
          s.summary?.busiestShareConnections == null
            ? '–'
            : `${fmt(100 * s.summary.busiestShareConnections, 0)}%`,
          s.summary?.latency?.p99Micros ? fmt(s.summary.latency.p99Micros.median / 1000, 2) : '–',
        ];
      }),
    );
  }
}

export async function renderPdf(input: ResultsFile, context: RenderContext = {}): Promise<Uint8Array> {
  const results = displayResults(input);
  const doc = createDoc({
    title: `scaleup results: ${machineLabel(results)}`,
    subject: `Run ${results.run.id} (${results.run.suite}, profile ${results.run.profile})`,
    date: reportDate(results),
  });
  await chartsPage(doc, results, buildTable(results));
  await costPage(doc, results);
  await scalingPage(doc, results);
  await latencyPages(doc, results);
  headlinePage(doc, results);
  workPage(doc, results);
  profilePages(doc, results, context.profiles);
  warningsPage(doc, results);
  return finishDoc(doc, `scaleup · ${results.environment.hostname} · run ${results.run.id}`);
}

/** The medians, intervals and ratios of every scenario, then what is known about each. */
function headlinePage(doc: PDFKit.PDFDocument, results: ResultsFile): void {
  const costs = hasCosts(results);
  doc.addPage();
  heading(doc, 'Medians, intervals and ratios to nginx');
  paragraph(
    doc,
    [
      `Machine: ${machineLabel(results)}.`,
      quotaNote(results),
      `Medians over valid repetitions; brackets: the interval of the median and the confidence it reaches. ≥: ${LOWER_BOUND_NOTE}. ${intervalExplanation(results)}`,
    ]
      .filter((part) => part !== null)
      .join(' '),
  );
  table(
    doc,
    [
      { title: 'Scenario', weight: 0.8 },
      { title: 'Server', weight: 2.4 },
      { title: 'Payload', weight: 0.9 },
      { title: 'Valid reps', weight: 0.9 },
      { title: 'Responses/s', weight: 1.8, align: 'right' },
      { title: 'MB/s', weight: 1.6, align: 'right' },
      { title: 'Ratio to nginx', weight: 1.6, align: 'right' },
      ...(costs
        ? [
            { title: 'Server CPU µs/response', weight: 1.5, align: 'right' as const },
            { title: 'Efficiency vs nginx', weight: 1.6, align: 'right' as const },
          ]
        : []),
      { title: 'CV', weight: 0.7, align: 'right' },
    ],
    scenarioRows(results, costs),
  );
  const skipped = results.scenarios.filter((s) => s.skipped !== null);
  if (skipped.length) {
    heading(doc, 'Skipped scenarios', 11);
    bullets(
      doc,
      skipped.map((s) => `${s.id} (${s.label}, ${payloadLabel(s.payloadBytes)}): ${s.skipped}`),
    );
  }
  const stops = results.stopping.filter((g) => g.stoppedBy !== 'fixed');
  if (stops.length > 0) {
    heading(doc, 'Adaptive repetitions', 11);
    bullets(doc, stops.map(stoppingText), 8);
  }
  latencyTable(doc, results);
  heading(doc, 'Servers', 11);
  bullets(
    doc,
    results.scenarios.map((s) => `${s.id}: ${describeServer(s.server)}${s.url ? ` at ${s.url}` : ''}`),
    8,
  );
}

function latencyTable(doc: PDFKit.PDFDocument, results: ResultsFile): void {
  const withLatency = results.scenarios.filter((s) => s.summary?.latency != null);
  if (withLatency.length === 0) return;
  heading(doc, 'Latency (ms): median over repetitions of each percentile, [min, max] over repetitions', 11);
  table(
    doc,
    [
      { title: 'Scenario', weight: 1.6 },
      { title: 'Payload', weight: 0.8 },
      ...LATENCY_PERCENTILES.map(([, name]) => ({ title: name, weight: 1.3, align: 'right' as const })),
    ],
    withLatency.map((s) => {
      const latency = s.summary!.latency!;
      return [
        s.id,
        payloadLabel(s.payloadBytes),
        ...LATENCY_PERCENTILES.map(([key]) => {
          const st = latency[key];
          return st === null
            ? '–'
            : `${upperBoundMark(s)}${fmt(st.median / 1000, 2)}\n[${fmt(st.min / 1000, 2)}, ${fmt(st.max / 1000, 2)}]`;
        }),
      ];
    }),
  );
}

/** Requests and connections per worker, then CPU per process role. */
function workPage(doc: PDFKit.PDFDocument, results: ResultsFile): void {
  doc.addPage();
  heading(doc, 'Work per worker and CPU per process');
  const withWorkers = results.scenarios.filter((s) =>
    s.repetitions.some((r) => (r.workers ?? []).length > 0),
  );
  if (withWorkers.length) {
    paragraph(
      doc,
      'Requests and connections each worker served, summed over all repetitions. With keep-alive the split of connections is decided in the first milliseconds and can be very uneven. Jain fairness (1 = even): ' +
        withWorkers
          .map(
            (s) =>
              `${s.id} ${fmt(s.summary?.fairnessRequests, 2)} (requests) / ${fmt(s.summary?.fairnessConnections, 2)} (connections)`,
          )
          .join('; ') +
        '.',
    );
    table(
      doc,
      [
        { title: 'Scenario', weight: 3 },
        { title: 'Worker', weight: 0.7, align: 'right' },
        { title: 'Requests', weight: 1.3, align: 'right' },
        { title: 'Share', weight: 0.8, align: 'right' },
        { title: 'Connections', weight: 1.1, align: 'right' },
        { title: 'Share', weight: 0.8, align: 'right' },
      ],
      withWorkers.flatMap(workerRows),
    );
  } else {
    paragraph(doc, 'No per-worker counts were recorded in this run.');
  }
  const withCpu = results.scenarios.filter((s) => s.repetitions.some((r) => r.serverCpu.length > 0));
  heading(doc, 'CPU per process', 11);
  if (withCpu.length === 0) {
    paragraph(doc, 'No per-process CPU samples were recorded in this run.');
    return;
  }
  paragraph(
    doc,
    'CPU seconds per repetition (median over repetitions), summed over the processes of each role; per process is that sum divided by the processes. Utilisation: the server processes’ CPU over the wall time and the cores they had.',
  );
  table(
    doc,
    [
      { title: 'Scenario', weight: 3 },
      { title: 'Role', weight: 1.1 },
      { title: 'Processes', weight: 0.8, align: 'right' },
      { title: 'User s', weight: 0.8, align: 'right' },
      { title: 'System s', weight: 0.8, align: 'right' },
      { title: 'Per process s', weight: 1, align: 'right' },
      { title: 'Server CPU', weight: 0.9, align: 'right' },
    ],
    withCpu.flatMap(cpuRows),
  );
}

/** Warnings, the environment, other hosts, tuning checks and the methodology. */
function warningsPage(doc: PDFKit.PDFDocument, results: ResultsFile): void {
  doc.addPage();
  heading(doc, 'Warnings');
  const warnings = concerns(results);
  if (warnings.length === 0)
    paragraph(doc, 'None: every repetition was valid, none was client-bound, and every tuning check passed.');
  else
    bullets(
      doc,
      warnings.map((c) => (c.scenario ? `[${c.scenario}] ${c.text}` : c.text)),
    );

  heading(doc, 'Environment', 12);
  table(
    doc,
    [
      { title: 'Item', weight: 1 },
      { title: 'Value', weight: 4 },
    ],
    [...runPairs(results), ...environmentPairs(results)],
  );
  if (results.hosts.length > 0) {
    heading(doc, 'Other hosts of the run', 12);
    table(
      doc,
      HOST_COLUMNS.map((title) => ({ title, weight: title === 'CPU' || title === 'Load tools' ? 2 : 1 })),
      hostRows(results),
    );
  }
  if (results.tuning.length) {
    heading(doc, 'Tuning checks', 12);
    table(
      doc,
      [
        { title: 'Setting', weight: 1.6 },
        { title: 'Actual', weight: 1 },
        { title: 'Recommended', weight: 1 },
        { title: 'OK', weight: 0.4 },
        { title: 'What a shortfall limits', weight: 2.5 },
        { title: 'Fix', weight: 2.5 },
      ],
      results.tuning.map((t) => [
        t.setting,
        t.actual ?? '(unreadable)',
        t.recommended,
        t.ok ? 'yes' : 'NO',
        t.impact,
        t.fix,
      ]),
    );
  }
  heading(doc, 'Methodology', 12);
  bullets(doc, METHODOLOGY);
}

export const pdfExporter: Exporter = {
  name: 'pdf',
  extension: '.pdf',
  render: renderPdf,
};
