import type { ResultsFile } from '@scaleup/core';
import {
  FLAME_KIND_LABELS,
  type FlameGraph,
  type FlameKind,
  fitLabel,
  frameColour,
  layoutFlameGraph,
} from './flamegraph.ts';
import { displayName, fmt } from './format.ts';
import { contentWidth, FONT, heading, MARGIN, paragraph, table } from './pdf-doc.ts';
import type { ProfileFiles } from './profile-files.ts';
import {
  type DiffRow,
  diffGap,
  diffProfiles,
  PROFILE_NOTE,
  type ProfilePair,
  type ProfileRow,
  pct,
  profileContent,
  profilePairs,
  SHARE_CLASSES,
  topText,
  whoText,
} from './profile-view.ts';

/**
 * The PDF's CPU profile pages: the breakdown of every profiled result on one page, then per
 * result a static flame graph (pdfkit rectangles, names cut to fit) and its top functions, then
 * each server against its baseline. Names from the folded files are cleaned by displayName.
 */

/** Space kept under the graph for its note; the top-functions table may go to the next page. */
const NOTE_SPACE = 24;
const MAX_ROW = 11;
const MIN_ROW = 3;

function drawFlame(doc: PDFKit.PDFDocument, graph: FlameGraph, height: number): void {
  const width = contentWidth(doc);
  const row = Math.min(MAX_ROW, height / (graph.depth + 1));
  const scale = width / Math.max(graph.total, 1);
  const size = Math.min(7, row - 2);
  const top = doc.y;
  doc.font(FONT);
  for (const f of graph.frames) {
    const x = MARGIN + f.x * scale;
    const w = f.samples * scale;
    const y = top + (graph.depth - f.depth) * row;
    doc.rect(x, y, Math.max(w - 0.3, 0.2), row - 0.4).fill(frameColour(f));
    const label = size >= 3.5 ? fitLabel(displayName(f.name), Math.floor((w - 2) / (size * 0.6))) : '';
    if (label !== '') {
      doc
        .fillColor('#000000')
        .fontSize(size)
        .text(label, x + 1, y + (row - size) / 2 - 0.5, { lineBreak: false, width: w - 1 });
    }
  }
  doc.x = MARGIN;
  doc.y = top + (graph.depth + 1) * row + 6;
}

function legendLine(): string {
  const kinds: FlameKind[] = ['kernel', 'native', 'javascript', 'gc'];
  return `Colours: ${kinds.map((k) => `${FLAME_KIND_LABELS[k]} ${k === 'kernel' ? 'orange' : k === 'native' ? 'red' : k === 'javascript' ? 'green' : 'purple'}`).join(', ')}; the root and thread names grey. Width: share of samples; the root (bottom) is every sample.`;
}

function flamePage(doc: PDFKit.PDFDocument, row: ProfileRow, files: ProfileFiles | undefined): void {
  const s = row.scenario;
  doc.addPage();
  doc.y = MARGIN;
  heading(doc, `CPU profile: ${s.id} ${s.label}, ${s.payloadBytes} B`, 12);
  const shares = SHARE_CLASSES.map(([label, key]) => `${label} ${pct(row.breakdown[key])}`).join(', ');
  paragraph(doc, `${fmt(row.samples)} samples (${row.event}, ${fmt(row.sampleHz)} Hz): ${shares}.`, 8);
  const loaded = files?.get(s.id);
  if (!loaded?.stacks) {
    const why =
      loaded?.problem ?? 'the folded stacks were not read (report made without its results directory)';
    paragraph(doc, `Flame graph not drawn: ${why}.`, 8);
  } else {
    const available = doc.page.height - MARGIN - doc.y - NOTE_SPACE;
    const maxDepth = Math.floor(available / MIN_ROW) - 1;
    // Frames under about half a point would not show.
    const graph = layoutFlameGraph(loaded.stacks, { minFraction: 0.5 / contentWidth(doc), maxDepth });
    paragraph(doc, legendLine(), 7);
    drawFlame(doc, graph, available);
    if (graph.hiddenFrames > 0) {
      paragraph(doc, `${fmt(graph.hiddenFrames)} frames too narrow (or too deep) to draw are left out.`, 7);
    }
  }
  const b = row.breakdown;
  const self = topText(b.topSelf, 'self', 10);
  const total = topText(b.topTotal, 'total', 10);
  table(
    doc,
    [
      { title: 'Top by self samples', weight: 1 },
      { title: 'Top by total samples', weight: 1 },
    ],
    Array.from({ length: Math.max(self.length, total.length) }, (_, i) => [self[i] ?? '', total[i] ?? '']),
    7,
  );
}

function breakdownPage(doc: PDFKit.PDFDocument, rows: readonly ProfileRow[], problems: string[]): void {
  doc.addPage();
  doc.y = MARGIN;
  heading(doc, 'Where the CPU goes: CPU profiles under load');
  paragraph(doc, PROFILE_NOTE, 8);
  table(
    doc,
    [
      { title: 'Scenario', weight: 1.6 },
      { title: 'Samples', weight: 0.8, align: 'right' },
      ...SHARE_CLASSES.map(([label]) => ({ title: label, weight: 0.8, align: 'right' as const })),
      { title: 'Top self', weight: 3 },
      { title: 'Top total', weight: 3 },
    ],
    rows.map((r) => [
      `${r.scenario.id}\n${whoText(r)}`,
      fmt(r.samples),
      ...SHARE_CLASSES.map(([, key]) => pct(r.breakdown[key])),
      topText(r.breakdown.topSelf, 'self', 3).join('\n'),
      topText(r.breakdown.topTotal, 'total', 3).join('\n'),
    ]),
    7,
  );
  for (const problem of problems) paragraph(doc, `• ${problem}`, 8);
}

function diffRows(rows: DiffRow[], unit: 'µs' | 'share'): string[][] {
  const value = (share: number, micros: number | null) =>
    unit === 'µs' && micros !== null ? `${fmt(micros, 2)} µs (${pct(share)})` : pct(share);
  return rows.map((d) => {
    const gap = diffGap(d);
    return [
      `${displayName(d.name)}${d.kind ? ` (${d.kind})` : ''}`,
      value(d.oursShare, d.oursMicros),
      value(d.baselineShare, d.baselineMicros),
      unit === 'µs'
        ? `${gap > 0 ? '+' : ''}${fmt(gap, 2)} µs`
        : `${gap > 0 ? '+' : ''}${fmt(gap * 100, 1)} points`,
    ];
  });
}

function pairSection(doc: PDFKit.PDFDocument, pair: ProfilePair, files: ProfileFiles | undefined): void {
  const a = files?.get(pair.ours.scenario.id)?.stacks;
  const b = files?.get(pair.baseline.scenario.id)?.stacks;
  heading(
    doc,
    `${pair.ours.scenario.id} against ${pair.baseline.scenario.id}, ${pair.ours.scenario.payloadBytes} B`,
    11,
  );
  if (!a || !b) {
    paragraph(doc, 'Not compared: a folded file is missing (see the notes above).', 8);
    return;
  }
  const diff = diffProfiles(pair, a, b, 10);
  paragraph(
    doc,
    diff.unit === 'µs'
      ? 'In µs of server CPU per response (a share of samples times the median CPU per response); the last column is the first server minus the second.'
      : 'In shares of each profile’s samples (no CPU per response recorded); the last column is the first minus the second.',
    8,
  );
  const columns = [
    { title: '', weight: 3 },
    { title: pair.ours.scenario.id, weight: 1.3, align: 'right' as const },
    { title: pair.baseline.scenario.id, weight: 1.3, align: 'right' as const },
    { title: 'Difference', weight: 1, align: 'right' as const },
  ];
  table(doc, columns, diffRows([...diff.classes, ...diff.syscalls], diff.unit), 7);
  table(doc, columns, diffRows(diff.functions, diff.unit), 7);
}

/** Nothing for a run without profiles: older runs' PDFs stay as they were. */
export function profilePages(
  doc: PDFKit.PDFDocument,
  results: ResultsFile,
  files: ProfileFiles | undefined,
): void {
  const content = profileContent(results, files);
  if (content === null) return;
  const { rows, table, problems } = content;
  breakdownPage(doc, table, problems);
  for (const row of rows) flamePage(doc, row, files);
  const pairs = profilePairs(rows);
  if (pairs.length === 0) return;
  doc.addPage();
  doc.y = MARGIN;
  heading(doc, 'Side by side: each server against its baseline at the same payload');
  for (const pair of pairs) pairSection(doc, pair, files);
}
