import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ResultsFile } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import {
  buildComparison,
  type Comparison,
  changeMessages,
  costMessages,
  protocolMessages,
  unsharedMessages,
} from './compare-model.ts';
import { renderComparisonPdf } from './compare-pdf.ts';
import { renderComparisonXlsx } from './compare-xlsx.ts';
import type { Exporter } from './exporter.ts';
import { loadResults } from './write.ts';

/**
 * Several runs (machines) side by side, written as comparison.xlsx and comparison.pdf: the model
 * is in compare-model.ts, the two views in compare-xlsx.ts and compare-pdf.ts.
 */

export const comparisonXlsxExporter: Exporter<Comparison> = {
  name: 'xlsx',
  extension: '.xlsx',
  render: renderComparisonXlsx,
};
export const comparisonPdfExporter: Exporter<Comparison> = {
  name: 'pdf',
  extension: '.pdf',
  render: renderComparisonPdf,
};

export interface ComparisonPaths {
  xlsx: string;
  pdf: string;
  /** Scenarios not every run measured, in words. */
  notes: string[];
  /** Protocol differences, one line each ("connections: 16 vs 48"). */
  protocol: string[];
  /** Per compared scenario and later run: its change against the first run, in words. */
  changes: string[];
  /** What the efficiency means, the runs without cost data (n/a), the runs under a CPU quota. */
  costs: string[];
}

/** Writes comparison.xlsx and comparison.pdf into `outDir` from run directories or results. */
export async function writeComparison(
  inputs: (string | ResultsFile)[],
  outDir: string,
): Promise<ComparisonPaths> {
  const loaded = [];
  for (const input of inputs) loaded.push(await loadResults(input));
  const comparison = buildComparison(loaded);
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const exporters = [comparisonXlsxExporter, comparisonPdfExporter];
  const rendered = await Promise.all(exporters.map(async (e) => [e, await e.render(comparison)] as const));
  const written: Record<string, string> = {};
  for (const [exporter, bytes] of rendered) {
    const file = join(dir, `comparison${exporter.extension}`);
    await writeFileAtomic(file, bytes);
    written[exporter.name] = file;
  }
  return {
    xlsx: written.xlsx!,
    pdf: written.pdf!,
    notes: unsharedMessages(comparison),
    protocol: protocolMessages(comparison),
    changes: changeMessages(comparison),
    costs: costMessages(comparison),
  };
}
