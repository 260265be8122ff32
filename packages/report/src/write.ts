import { mkdir, readFile, stat as statFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseResults, type ResultsFile, ResultsSchemaError, UsageError } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import type { Exporter } from './exporter.ts';
import { pdfExporter } from './pdf.ts';
import { xlsxExporter } from './xlsx.ts';

export const RESULTS_FILE = 'results.json';
export const exporters: readonly Exporter[] = [xlsxExporter, pdfExporter];

export interface LoadedResults {
  /** The results.json read, or null when the results came in as a value. */
  path: string | null;
  results: ResultsFile;
}

/** A run directory or a results.json path, as the user typed it. */
export async function resolveResultsPath(input: string): Promise<string> {
  const path = resolve(input);
  let info: Awaited<ReturnType<typeof statFile>>;
  try {
    info = await statFile(path);
  } catch {
    throw new UsageError(`${input}: no such file or directory (give a run directory or its results.json)`);
  }
  return info.isDirectory() ? join(path, RESULTS_FILE) : path;
}

/**
 * Reads and validates results.json. Schema problems and newer schema versions become a
 * UsageError carrying parseResults' one-line reason.
 */
export async function loadResults(input: string | ResultsFile): Promise<LoadedResults> {
  if (typeof input !== 'string') return { path: null, results: validate(input, 'results') };
  const path = await resolveResultsPath(input);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return { path, results: validate(text, path) };
}

function validate(raw: unknown, source: string): ResultsFile {
  try {
    return parseResults(raw, source);
  } catch (error) {
    if (error instanceof ResultsSchemaError) throw new UsageError(error.message);
    throw error;
  }
}

export interface ReportPaths {
  xlsx: string;
  pdf: string;
}

/**
 * Writes results.xlsx and results.pdf for one run. Called by the benchmark runner at the end of
 * a run and by `scaleup report`; `outDir` defaults to the directory of results.json.
 */
export async function writeReports(input: string | ResultsFile, outDir?: string): Promise<ReportPaths> {
  const { path, results } = await loadResults(input);
  const dir = resolve(outDir ?? (path !== null ? join(path, '..') : '.'));
  await mkdir(dir, { recursive: true });
  // Render everything before writing anything: a failure leaves no half-updated pair behind.
  const rendered = await Promise.all(exporters.map(async (e) => [e, await e.render(results)] as const));
  const written: Record<string, string> = {};
  for (const [exporter, bytes] of rendered) {
    const file = join(dir, `results${exporter.extension}`);
    await writeFileAtomic(file, bytes);
    written[exporter.name] = file;
  }
  return { xlsx: written.xlsx!, pdf: written.pdf! };
}
