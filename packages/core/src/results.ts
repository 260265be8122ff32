import type { z } from 'zod';
import {
  RESULTS_SCHEMA_ID,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile,
  ResultsFileSchema,
} from './results-schema.ts';
import { upgradeVersion1 } from './results-upgrade.ts';
import { deriveSummaries } from './summary.ts';

/**
 * Reading and writing results.json. The schema itself lives in results-schema.ts (re-exported
 * here), so that what derives summaries from it does not import the reader that calls it.
 */
export * from './results-schema.ts';

export class ResultsSchemaError extends Error {
  override name = 'ResultsSchemaError';
}

/**
 * Line breaks and other control characters of `text` as escapes: keys and snippets quoted from a
 * file must not split a one-line error (U+2028 included, which JSON.stringify leaves alone).
 */
export function oneLine(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    if (!control) out += c;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** Every schema problem as `path: message`, so a user sees all of them at once. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) =>
    oneLine(`${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`),
  );
}

/**
 * Parses results.json text or an already-parsed value. A file from a newer schema version is
 * refused with that reason rather than as a pile of field errors.
 */
export function parseResults(raw: unknown, source = 'results.json'): ResultsFile {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new ResultsSchemaError(`${source}: not JSON (${oneLine((error as Error).message)})`);
    }
  }
  if (typeof value !== 'object' || value === null)
    throw new ResultsSchemaError(`${source}: not a results object`);
  const header = value as { schema?: unknown; schemaVersion?: unknown };
  if (header.schema !== RESULTS_SCHEMA_ID) {
    throw new ResultsSchemaError(
      `${source}: not a scaleup results file (schema is ${JSON.stringify(header.schema)})`,
    );
  }
  if (typeof header.schemaVersion === 'number' && header.schemaVersion > RESULTS_SCHEMA_VERSION) {
    throw new ResultsSchemaError(
      `${source}: schema version ${header.schemaVersion} is newer than this scaleup reads (${RESULTS_SCHEMA_VERSION}); update scaleup`,
    );
  }
  const { value: current, upgraded } = upgradeVersion1(value as Record<string, unknown>);
  const parsed = ResultsFileSchema.safeParse(current);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues);
    // One readable line: the first few problems, then how many more there are.
    const shown = issues.slice(0, 5).join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    throw new ResultsSchemaError(`${source}: does not match the results schema: ${shown}${more}`);
  }
  if (upgraded) deriveSummaries(parsed.data);
  return parsed.data;
}

/** Validates before serialising: a writer can never produce a file readers would refuse. */
export function serializeResults(results: ResultsFile): string {
  const parsed = ResultsFileSchema.safeParse(results);
  if (!parsed.success) {
    throw new ResultsSchemaError(
      `refusing to write invalid results: ${formatIssues(parsed.error.issues).slice(0, 20).join('; ')}`,
    );
  }
  return `${JSON.stringify(parsed.data, null, 2)}\n`;
}
