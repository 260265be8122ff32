import { join } from 'node:path';
import { deriveSummaries, type ResultsFile, type ScenarioResult, serializeResults } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';

/**
 * results.json while a run goes on: every change is followed by an atomic rewrite, so an
 * interruption (or a crash) loses nothing already measured, and summaries are always those of
 * the repetitions on disk.
 */
export class ResultsStore {
  readonly path: string;
  readonly #byId = new Map<string, ScenarioResult>();
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly results: ResultsFile,
    outDir: string,
    private readonly onWarning: (message: string) => void,
  ) {
    this.path = join(outDir, 'results.json');
    for (const s of results.scenarios) this.#byId.set(s.id, s);
  }

  result(id: string): ScenarioResult {
    const found = this.#byId.get(id);
    if (found === undefined) throw new Error(`no result ${id} in the plan`);
    return found;
  }

  /** Recomputes every summary and the scaling curves from the repetitions. */
  refresh(): void {
    deriveSummaries(this.results);
  }

  warn(message: string): void {
    this.results.warnings.push(message);
    this.onWarning(message);
  }

  /** Serialised writes: two renames racing could leave an older file in place. */
  save(): Promise<void> {
    const text = serializeResults(this.results);
    this.#chain = this.#chain.then(() => writeFileAtomic(this.path, text));
    return this.#chain;
  }
}
