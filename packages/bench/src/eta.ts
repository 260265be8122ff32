/** Formats seconds as "1h02m", "3m05s" or "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * Remaining time of the suite: until a repetition has finished, the planned duration plus a
 * guess at overhead; afterwards the measured mean wall time per repetition, which includes the
 * real overhead of sampling and writing.
 */
export function estimateRemainingSeconds(input: {
  remainingRuns: number;
  finishedRuns: number;
  elapsedInRunsSeconds: number;
  plannedSecondsPerRun: number | null;
}): number | null {
  if (input.finishedRuns > 0) return (input.elapsedInRunsSeconds / input.finishedRuns) * input.remainingRuns;
  if (input.plannedSecondsPerRun === null) return null;
  return (input.plannedSecondsPerRun + 1) * input.remainingRuns;
}
