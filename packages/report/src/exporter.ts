import type { ResultsFile } from '@scaleup/core';
import type { ProfileFiles } from './profile-files.ts';

/**
 * What a report may read beside results.json: the folded stacks its profiles name, read from the
 * results directory by writeReports. Without them a report still prints each profile's breakdown
 * (it is in results.json) and says the flame graph was not drawn.
 */
export interface RenderContext {
  profiles?: ProfileFiles;
}

/**
 * One output format. An exporter sees only the validated results (never a measurement in
 * progress) and returns the file's bytes; the same input must always give the same bytes.
 */
export interface Exporter<Input = ResultsFile> {
  /** Short format name, e.g. 'xlsx'. */
  readonly name: string;
  /** File extension with its dot, e.g. '.xlsx'. */
  readonly extension: string;
  render(input: Input, context?: RenderContext): Promise<Uint8Array>;
}
