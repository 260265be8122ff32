import type { ResultsFile } from '@scaleup/core';

/**
 * One output format. An exporter sees only the validated results (never a measurement in
 * progress) and returns the file's bytes; the same input must always give the same bytes.
 */
export interface Exporter<Input = ResultsFile> {
  /** Short format name, e.g. 'xlsx'. */
  readonly name: string;
  /** File extension with its dot, e.g. '.xlsx'. */
  readonly extension: string;
  render(input: Input): Promise<Uint8Array>;
}
