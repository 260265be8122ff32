import type { Ratio, ScenarioResult } from '@scaleup/core';
import { type BarDatum, barChartSvg, lineChartSvg } from './charts.ts';
import { capacityCellText, comparedLatency } from './compare-latency.ts';
import {
  type Comparison,
  changeText,
  comparedEfficiency,
  comparisonHasCosts,
  costMessages,
  efficiencyText,
  type PartialScenario,
  protocolMessages,
  unsharedMessages,
} from './compare-model.ts';
import { quotaNote, ratioView } from './display.ts';
import { textWidth } from './font.ts';
import { confidenceText, fmt, fmtCi } from './format.ts';
import { latencyChartSvg } from './latency-charts.ts';
import { machineLabel, payloadLabel } from './model.ts';
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

/** The comparison as a PDF: the ratio chart, the ratios and medians per machine, the differences. */

/** A machine's ratio as every report prints it: ≥ for a lower bound, the interval, unpaired rounds. */
function ratioCellText(x: ScenarioResult | null): string {
  const r = x === null ? null : ratioView(x);
  if (r === null || r.kind !== 'ratio') return '–';
  return `${r.figure} ${r.interval}${r.note === null ? '' : ` (${r.note})`}`;
}

/** The sweeps of every machine on one set of axes: each normalised to its own nginx at the point. */
async function curvesPage(doc: PDFKit.PDFDocument, comparison: Comparison): Promise<void> {
  doc.addPage();
  heading(doc, 'Curves: ratio to nginx at the same point, per machine');
  const names = comparison.runs.map((r) => r.label);
  await chartGrid(doc, comparison.curves.length, async (i, width, height) => {
    const curve = comparison.curves[i]!;
    return lineChartSvg(
      curve.points.map((p) => ({
        series: p.run,
        x: p.x,
        y: p.ratio,
        low: p.ciLow,
        high: p.ciHigh,
        lowerBound: p.lowerBound,
      })),
      {
        title: curve.label,
        subtitle: '1.0 = as fast as nginx on the same machine at the same point; hollow: a lower bound',
        xTitle: curve.axis === 'workers' ? 'Workers' : 'Connections',
        yTitle: 'Ratio to nginx',
        format: '.2f',
        width,
        height,
        series: names,
        logX: true,
        rule: 1,
      },
    );
  });
}

/** Charts two a row (one when alone), 220 pt high, onto new pages as they fill. */
async function chartGrid(
  doc: PDFKit.PDFDocument,
  count: number,
  render: (index: number, width: number, height: number) => Promise<string>,
): Promise<void> {
  const columns = count > 1 ? 2 : 1;
  const gap = 12;
  const width = (contentWidth(doc) - gap * (columns - 1)) / columns;
  const height = 220;
  let top = doc.y + 4;
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % columns === 0) {
      top += height + gap;
      if (top + height > doc.page.height - MARGIN) {
        doc.addPage();
        top = MARGIN;
      }
    }
    drawSvg(doc, await render(i, width, height), MARGIN + (i % columns) * (width + gap), top, width, height);
  }
  if (count > 0) doc.y = top + height + gap;
}

/** Open-loop rate sweeps: each scenario's p99 against offered load per machine, then capacities. */
async function latencyPages(doc: PDFKit.PDFDocument, comparison: Comparison): Promise<void> {
  const latency = comparedLatency(comparison.runs);
  if (latency.curves.length === 0 && latency.capacities.length === 0) return;
  const names = comparison.runs.map((r) => r.label);
  doc.addPage();
  heading(doc, 'Latency under a constant offered load, per machine');
  paragraph(
    doc,
    "Each machine's p99 (median over repetitions, whiskers: its interval) against the rate it was offered, absolute, on a log latency axis; hollow: the machine fell behind the offered rate there. Capacities at each objective follow the charts.",
    8,
  );
  await chartGrid(doc, latency.curves.length, async (i, width, height) => {
    const curve = latency.curves[i]!;
    return latencyChartSvg(
      curve.points.map((p) => ({
        series: p.run,
        line: 'p99' as const,
        x: p.offeredPerSecond,
        y: Math.max(p.p99, 0.001),
        low: Math.max(p.low, 0.001),
        high: Math.max(p.high, 0.001),
        behind: p.behind,
        rateStep: p.rateStep,
      })),
      {
        title: `p99 against offered load: ${curve.label}`,
        subtitle: 'median with its interval; hollow: fell behind',
        width,
        height,
        series: names,
        xTitle: 'Offered responses/s',
      },
    );
  });
  if (latency.capacities.length === 0) return;
  doc.addPage();
  heading(doc, 'Capacity at each latency objective, per machine (responses/s offered)', 12);
  table(
    doc,
    [
      { title: 'Scenario', weight: 2 },
      { title: 'Objective', weight: 0.9 },
      ...names.map((n) => ({ title: n, weight: 2.2 })),
    ],
    latency.capacities.map((c) => [
      `${c.label}, ${payloadLabel(c.payloadBytes)}`,
      c.slo,
      ...c.perRun.map(capacityCellText),
    ]),
  );
}

export async function renderComparisonPdf(comparison: Comparison): Promise<Uint8Array> {
  const { runs } = comparison;
  const names = runs.map((r) => r.label);
  const doc = createDoc({
    title: `scaleup comparison: ${names.join(' vs ')}`,
    subject: runs.map((r) => `${machineLabel(r.results)} run ${r.results.run.id}`).join('; '),
    date: comparison.date,
  });
  const protocol = protocolMessages(comparison);
  titleBlock(doc, comparison, protocol);
  await ratioChart(doc, comparison);
  if (comparisonHasCosts(comparison)) await efficiencyChart(doc, comparison);
  ratiosPage(doc, comparison, protocol);
  if (comparison.curves.length > 0) await curvesPage(doc, comparison);
  await latencyPages(doc, comparison);
  mediansAndDifferences(doc, comparison, protocol);
  return finishDoc(doc, `scaleup comparison · ${names.join(' vs ')}`);
}

/** The title, which machine is which, and a warning when the protocols differ. */
function titleBlock(doc: PDFKit.PDFDocument, comparison: Comparison, protocol: string[]): void {
  const { runs } = comparison;
  const names = runs.map((r) => r.label);
  const title = `Ratio to nginx on the same machine: ${names.join(' vs ')}`;
  const size = Math.max(10, Math.min(15, (15 * contentWidth(doc)) / textWidth(title, 15)));
  doc
    .font(FONT)
    .fontSize(size)
    .fillColor('#000000')
    .text(title, MARGIN, MARGIN, { width: contentWidth(doc), align: 'center' });
  doc
    .fontSize(8)
    .fillColor('#333333')
    .text(
      runs.map((r) => `${r.label}: ${machineLabel(r.results)}, run ${r.results.run.id}`).join(' · '),
      MARGIN,
      doc.y + 2,
      { width: contentWidth(doc), align: 'center' },
    );
  const quotas = comparison.runs.flatMap((run) => {
    const note = quotaNote(run.results);
    return note === null ? [] : [`${run.label}: ${note}`];
  });
  if (quotas.length > 0) {
    doc
      .fontSize(8)
      .fillColor('#333333')
      .text(quotas.join(' '), MARGIN, doc.y + 2, { width: contentWidth(doc), align: 'center' });
  }
  if (protocol.length > 0) {
    doc
      .fontSize(8.5)
      .fillColor('#9C0006')
      .text(
        `Measured under different protocols, so these ratios are not like for like: ${protocol.join('; ')}.`,
        MARGIN,
        doc.y + 4,
        { width: contentWidth(doc), align: 'center' },
      );
  }
}

/** Where a chart of every machine's figure per scenario goes, and what it says it shows. */
interface ChartPlace {
  title: string;
  yTitle: string;
  top: number;
  height: number;
}

/**
 * One grouped bar chart: per scenario (the baselines are the 1.0 line), a bar per machine with
 * its interval as whiskers; a machine with no figure for a scenario has no bar there.
 */
async function perMachineChart(
  doc: PDFKit.PDFDocument,
  comparison: Comparison,
  pick: (s: PartialScenario, run: number) => Ratio | null,
  place: ChartPlace,
): Promise<void> {
  const names = comparison.runs.map((r) => r.label);
  const compared = comparison.rows.filter((s) => !s.baseline);
  if (compared.length === 0) return;
  const categories = compared.map((s) => `${s.label}, ${payloadLabel(s.payloadBytes)}`);
  const data: BarDatum[] = compared.flatMap((s, i) =>
    names.map((name, r) => {
      const ratio = pick(s, r);
      return {
        category: categories[i]!,
        series: name,
        value: ratio?.ratio ?? null,
        ciLow: ratio?.ciLow ?? null,
        ciHigh: ratio?.ciHigh ?? null,
      };
    }),
  );
  const svg = await barChartSvg(data, {
    title: place.title,
    yTitle: place.yTitle,
    format: '.2f',
    width: contentWidth(doc),
    height: place.height,
    categories,
    series: names,
    rule: 1,
  });
  drawSvg(doc, svg, MARGIN, place.top, contentWidth(doc), place.height);
}

/** Every machine's ratio per scenario in one grouped bar chart, then what was not shared. */
async function ratioChart(doc: PDFKit.PDFDocument, comparison: Comparison): Promise<void> {
  const top = doc.y + 8;
  const height = doc.page.height - MARGIN - 80 - top;
  await perMachineChart(doc, comparison, (s, r) => s.perRun[r]?.summary?.ratioToBaseline ?? null, {
    title:
      'Served responses/s relative to nginx at the same payload (1.0 = as fast as nginx); whiskers: the interval of the median per-round ratio',
    yTitle: 'Ratio to nginx',
    top,
    height,
  });
  doc.y = top + height + 6;
  const notes = unsharedMessages(comparison);
  paragraph(
    doc,
    notes.length
      ? `${comparison.shared.length} scenarios were measured in every run. ${notes.join('. ')}.`
      : `All ${comparison.shared.length} scenarios were measured in every run.`,
    8,
  );
}

/**
 * Every machine's efficiency to nginx per scenario, grouped like the ratio chart, on a page of its
 * own; a machine without cost data has no bar and the caption says so.
 */
async function efficiencyChart(doc: PDFKit.PDFDocument, comparison: Comparison): Promise<void> {
  doc.addPage();
  heading(doc, 'Efficiency to nginx on the same machine, per machine');
  paragraph(doc, costMessages(comparison).join(' '), 8);
  const top = doc.y + 4;
  const height = doc.page.height - MARGIN - 20 - top;
  const efficiencyOf = (s: PartialScenario, run: number) => {
    const e = comparedEfficiency(comparison, s, run);
    return e.kind === 'ratio' ? e.ratio : null;
  };
  await perMachineChart(doc, comparison, efficiencyOf, {
    title:
      "nginx's server CPU per response over this server's (above 1: cheaper per response); whiskers: the interval of the median per-round ratio",
    yTitle: 'Efficiency vs nginx',
    top,
    height,
  });
  doc.y = top + height + 6;
}

/** Each machine's ratio with its interval, and each later run's change against the first. */
function ratiosPage(doc: PDFKit.PDFDocument, comparison: Comparison, protocol: string[]): void {
  const { runs } = comparison;
  const names = runs.map((r) => r.label);
  const compared = comparison.rows.filter((s) => !s.baseline);
  const costs = comparisonHasCosts(comparison);
  doc.addPage();
  heading(doc, costs ? 'Ratios and efficiency to nginx, per machine' : 'Ratios to nginx, per machine');
  paragraph(
    doc,
    protocol.length > 0
      ? 'The runs differ in protocol (below), so no change between them is judged.'
      : `Each later run against ${names[0]}: "no change detected" when the interval of the ratio of ratios contains 1, else the change with its interval (at least ${Math.round(runs[0]!.results.plan.confidenceTarget * 100)}% together).`,
    8,
  );
  const notes = costMessages(comparison);
  if (notes.length > 0) paragraph(doc, notes.join(' '), 8);
  table(
    doc,
    [
      { title: 'Scenario', weight: 2.2 },
      ...names.map((n) => ({ title: n, weight: 1.8, align: 'right' as const })),
    ],
    compared.map((s) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      ...s.perRun.map((x, i) => {
        const change = comparison.shared.find((c) => c.key === s.key)?.change[i] ?? null;
        const efficiency = costs
          ? `\nefficiency ${efficiencyText(comparedEfficiency(comparison, s, i))}`
          : '';
        return `${ratioCellText(x)}${change !== null ? `\n${changeText(change)}` : ''}${efficiency}`;
      }),
    ]),
  );
}

/** Medians per machine, the protocol, the gaps and the environment differences. */
function mediansAndDifferences(doc: PDFKit.PDFDocument, comparison: Comparison, protocol: string[]): void {
  const { rows } = comparison;
  const names = comparison.runs.map((r) => r.label);
  const notes = unsharedMessages(comparison);
  heading(doc, 'Medians per machine (responses/s and MB/s, with their intervals)', 12);
  table(
    doc,
    [
      { title: 'Scenario', weight: 2.4 },
      ...names.map((n) => ({ title: n, weight: 1.8, align: 'right' as const })),
    ],
    rows.map((s) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      ...s.perRun.map((x) => {
        const rps = x?.summary?.requestsPerSecond ?? null;
        const mb = x?.summary?.megabytesPerSecond ?? null;
        if (rps === null) return '–';
        return `${fmt(rps.median)}/s ${fmtCi(rps.ciLow, rps.ciHigh)} ${confidenceText(rps)}\n${fmt(mb?.median, 2)} MB/s ${fmtCi(mb?.ciLow, mb?.ciHigh, 2)}`;
      }),
    ]),
  );
  heading(doc, 'Protocol', 12);
  if (protocol.length) bullets(doc, protocol);
  else
    paragraph(
      doc,
      'Every run was measured the same way (tool, load, connections, threads, workers, nginx preset, pinning, quota, hosts, scaleup version).',
    );
  heading(doc, 'Scenarios not in every run', 12);
  if (notes.length) bullets(doc, notes);
  else paragraph(doc, 'None: every run measured the same scenarios.');

  heading(doc, 'Environment differences', 12);
  if (comparison.environmentDiff.length) {
    table(
      doc,
      [{ title: 'Item', weight: 1.4 }, ...names.map((n) => ({ title: n, weight: 2 }))],
      comparison.environmentDiff.map((d) => [d.item, ...d.values]),
    );
  } else {
    paragraph(doc, 'The recorded environments do not differ.');
  }
  paragraph(
    doc,
    'Absolute figures depend on each machine (CPU, kernel, virtualisation, load tool); the paired ratio to nginx measured in the same rounds on the same machine cancels most of that, which is why it is the figure to compare.',
    8,
  );
}
