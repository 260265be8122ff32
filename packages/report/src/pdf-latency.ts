import type { ResultsFile, StatSummary } from '@scaleup/core';
import { fmt, fmtCi } from './format.ts';
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
import { payloadLabel } from './model.ts';
import { contentWidth, drawSvg, heading, MARGIN, paragraph, table } from './pdf-doc.ts';

/**
 * The PDF's pages for an open-loop rate sweep: per payload group latency against offered load
 * and the spectrum at one rate (the page's SVG charts), then the capacity table and every rate
 * step. Nothing for a closed-loop run.
 */

const GAP = 12;

/** One group's two charts side by side at `top`. */
async function groupCharts(
  doc: PDFKit.PDFDocument,
  g: LatencyGroup,
  top: number,
  height: number,
): Promise<void> {
  const width = (contentWidth(doc) - GAP) / 2;
  const series = g.servers.map((s) => s.name);
  const curve = await latencyChartSvg(g.curveData, {
    title: g.curveTitle,
    subtitle: g.curveSubtitle,
    width,
    height,
    series,
    xTitle: 'Offered responses/s',
  });
  drawSvg(doc, curve, MARGIN, top, width, height);
  if (g.spectrumData.length === 0) return;
  const spectrum = await spectrumChartSvg(g.spectrumData, {
    title: g.spectrumTitle,
    width,
    height,
    series,
    xTitle: 'Percentile (1/(1-p) axis, log)',
  });
  drawSvg(doc, spectrum, MARGIN + width + GAP, top, width, height);
}

/** "0.42\n[0.40 – 0.45]": a latency median in ms with its interval under it. */
function msText(st: StatSummary | null, mark: string): string {
  return st === null
    ? '–'
    : `${mark}${fmt(st.median / 1000, 2)}\n${fmtCi(st.ciLow / 1000, st.ciHigh / 1000, 2)}`;
}

function tablesPage(doc: PDFKit.PDFDocument, results: ResultsFile): void {
  const capacities = capacityRows(results);
  doc.addPage();
  if (capacities.length > 0) {
    heading(doc, 'Capacity at each latency objective (responses/s offered)');
    table(
      doc,
      [
        { title: 'Server', weight: 2.2 },
        { title: 'Payload', weight: 0.8 },
        { title: 'Objective', weight: 1 },
        { title: 'Capacity', weight: 1.2, align: 'right' },
        { title: 'Interval / censoring', weight: 2.4 },
        { title: 'vs nginx', weight: 2 },
      ],
      capacities.map((r) => [
        `${r.server} (${r.scenarioId})`,
        payloadLabel(r.payloadBytes),
        r.slo,
        r.figure,
        r.interval || r.censoredText,
        `${r.ratioFigure}${r.ratioInterval ? `\n${r.ratioInterval}` : ''}`,
      ]),
    );
  }
  heading(doc, 'Every rate step: responses/s and latency (ms, median over repetitions, interval)', 11);
  table(
    doc,
    [
      { title: 'Server', weight: 1.8 },
      { title: 'Payload', weight: 0.7 },
      { title: 'Step', weight: 0.6 },
      { title: 'Offered/s', weight: 0.9, align: 'right' },
      { title: 'Achieved/s', weight: 1.4, align: 'right' },
      { title: 'Kept up', weight: 1 },
      ...['p50', 'p90', 'p99', 'p99.9', 'max'].map((title) => ({
        title,
        weight: 1.1,
        align: 'right' as const,
      })),
    ],
    latencyPointRows(results).map((r) => {
      const achieved = r.point.achievedPerSecond;
      return [
        r.server,
        payloadLabel(r.payloadBytes),
        r.point.rateStep,
        fmt(r.point.offeredPerSecond),
        achieved === null ? '–' : `${fmt(achieved.median)}\n${fmtCi(achieved.ciLow, achieved.ciHigh)}`,
        keptUpText(r.point),
        ...r.percentiles.map((st) => msText(st, r.mark)),
      ];
    }),
    7,
  );
}

export async function latencyPages(doc: PDFKit.PDFDocument, results: ResultsFile): Promise<void> {
  const groups = latencyGroups(results);
  if (groups.length === 0) return;
  doc.addPage();
  heading(doc, 'Latency under a constant offered load');
  paragraph(doc, latencyExplanation(results), 8);
  const captions = groups.map(spectrumCaption).filter((c) => c !== null);
  if (captions.length > 0) paragraph(doc, captions.join(' '), 8);
  let top = doc.y + 4;
  // A group a page: each chart half the page's width and the rest of its height.
  for (const [i, g] of groups.entries()) {
    if (i > 0) {
      doc.addPage();
      top = MARGIN;
    }
    await groupCharts(doc, g, top, Math.max(160, doc.page.height - MARGIN - 14 - top));
  }
  tablesPage(doc, results);
}
