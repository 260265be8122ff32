import { BenchInterrupted } from '../ports.ts';
import type { ResultsStore } from '../store.ts';
import { closingWarnings } from '../warnings.ts';

/** The run ended as planned: points that never ran say so, the closing warnings, complete. */
export async function finishRun(store: ResultsStore, now: () => Date): Promise<void> {
  const { results } = store;
  for (const result of results.scenarios) {
    if (result.skipped === null && result.repetitions.length === 0) result.skipped = 'no repetition ran';
  }
  for (const message of closingWarnings(results.scenarios)) store.warn(message);
  results.complete = true;
  results.run.finishedAt = now().toISOString();
  await store.save();
}

/**
 * The run stopped early (a signal or a failure): results.json keeps everything measured, says why
 * it is incomplete, and a failure is also a warning. Summaries are refreshed after every
 * repetition, so what is saved here is already summarized.
 */
export async function recordEnd(store: ResultsStore, error: unknown, now: () => Date): Promise<void> {
  const { results } = store;
  results.complete = false;
  results.interrupted =
    error instanceof BenchInterrupted
      ? `interrupted: ${error.message}`
      : `failed: ${(error as Error).message}`;
  results.run.finishedAt = now().toISOString();
  if (!(error instanceof BenchInterrupted)) store.warn(results.interrupted);
  await store.save();
}
