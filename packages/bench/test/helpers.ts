import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LoadResult, parseResults } from '@scaleup/core';

/** A clean h2load result: 1000 responses of 40 B in 2 s; tests override what they study. */
export function loadResult(overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    tool: 'h2load',
    toolVersion: '1.52.0',
    argv: [],
    elapsedSeconds: 2,
    requests: { total: 1000, started: 1000, done: 1000, succeeded: 1000, failed: 0, errored: 0, timedOut: 0 },
    statusClasses: { '1xx': 0, '2xx': 1000, '3xx': 0, '4xx': 0, '5xx': 0 },
    bytes: { total: 180000, headers: 140000, body: 40000 },
    requestsPerSecond: 500,
    megabytesPerSecond: 0.09,
    latency: {
      minMicros: 1,
      meanMicros: 2,
      stdevMicros: 1,
      maxMicros: 9,
      p50Micros: 2,
      p75Micros: 3,
      p90Micros: 4,
      p99Micros: 8,
      p999Micros: 9,
    },
    toolCpu: { userSeconds: 0.5, systemSeconds: 0.5, cores: 1, utilisation: 0.5 },
    errors: [],
    notes: [],
    completed: true,
    rawOutputPath: null,
    ...overrides,
  };
}

/**
 * For waitFor: true once `dir/results.json` holds a measured repetition, undefined while it is
 * absent, half-written or holds none yet (a run in progress).
 */
export async function firstRepetitionIn(dir: string): Promise<true | undefined> {
  try {
    const results = parseResults(await readFile(join(dir, 'results.json'), 'utf8'));
    return results.scenarios.some((s) => s.repetitions.length > 0) ? true : undefined;
  } catch {
    return undefined;
  }
}
