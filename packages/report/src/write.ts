import { mkdir, readFile, stat as statFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseResults, type ResultsFile, ResultsSchemaError, UsageError } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import type { Exporter } from './exporter.ts';
import { htmlExporter } from './html.ts';
import { markdownExporter } from './markdown.ts';
import { pdfExporter } from './pdf.ts';
import { readProfiles } from './profile-files.ts';
import { xlsxExporter } from './xlsx.ts';

export const RESULTS_FILE = 'results.json';

/** Every report format, by its exporter's name: `--format` takes a comma list of these. */
export const REPORT_FORMATS = ['html', 'md', 'xlsx', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** In the order they are written (and printed): the workbook and the PDF first, as before. */
export const exporters: readonly Exporter[] = [xlsxExporter, pdfExporter, htmlExporter, markdownExporter];

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

/** The path written for each format, e.g. `{ xlsx: '/run/results.xlsx', ... }`. */
export type ReportPaths<F extends ReportFormat = ReportFormat> = Record<F, string>;

/**
 * Writes results.xlsx, results.pdf, results.html and results.md for one run (or only `formats`).
 * Called by the benchmark runner at the end of a run and by `scaleup report`; `outDir` defaults
 * to the directory of results.json. Returns the path of every file written, in the order of
 * `exporters`.
 */
export async function writeReports<F extends ReportFormat = ReportFormat>(
  input: string | ResultsFile,
  outDir?: string,
  formats?: readonly F[],
): Promise<ReportPaths<F>> {
  const chosen = exporters.filter(
    (e) => formats === undefined || (formats as readonly string[]).includes(e.name),
  );
  const unknown = (formats ?? []).filter((f) => !exporters.some((e) => e.name === f));
  if (unknown.length > 0 || chosen.length === 0) {
    throw new UsageError(
      `unknown report format ${unknown.length > 0 ? unknown.join(', ') : '(none given)'}: choose from ${REPORT_FORMATS.join(', ')}`,
    );
  }
  const { path, results } = await loadResults(input);
  const dir = resolve(outDir ?? (path !== null ? join(path, '..') : '.'));
  await mkdir(dir, { recursive: true });
  // Render everything before writing anything: a failure leaves no half-updated set behind.
  // Folded stacks are named relative to results.json; results given as a value have no directory.
  const context = path === null ? {} : { profiles: await readProfiles(results, join(path, '..')) };
  const rendered = await Promise.all(chosen.map(async (e) => [e, await e.render(results, context)] as const));
  const written: Record<string, string> = {};
  for (const [exporter, bytes] of rendered) {
    const file = join(dir, `results${exporter.extension}`);
    await writeFileAtomic(file, bytes);
    written[exporter.name] = file;
  }
  return written as ReportPaths<F>;
}
