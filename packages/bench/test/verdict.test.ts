import { describe, expect, it } from 'vitest';
import type { LoadResult } from '@scaleup/core';
import { judgeRepetition } from '../src/verdict.ts';

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
    latency: { minMicros: 1, meanMicros: 2, stdevMicros: 1, maxMicros: 9, p50Micros: 2, p75Micros: 3, p90Micros: 4, p99Micros: 8, p999Micros: 9 },
    toolCpu: { userSeconds: 0.5, systemSeconds: 0.5, cores: 1, utilisation: 0.5 },
    errors: [],
    completed: true,
    rawOutputPath: null,
    ...overrides,
  };
}

describe('repetition verdicts', () => {
  it('accepts a clean run', () => {
    expect(judgeRepetition({ load: loadResult(), expectedBodyBytes: 40, serverCpuUtilisation: 0.99 })).toEqual({
      valid: true,
      reasons: [],
      clientBound: false,
      clientBoundReason: null,
    });
  });

  it('rejects failures, errors, non-2xx and wrong sizes, naming each', () => {
    const load = loadResult({
      requests: { total: 1000, started: 1000, done: 1000, succeeded: 990, failed: 4, errored: 6, timedOut: 2 },
      statusClasses: { '1xx': 0, '2xx': 990, '3xx': 0, '4xx': 4, '5xx': 0 },
      bytes: { total: 1, headers: 1, body: 990 * 40 + 7 },
    });
    const verdict = judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 1 });
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons.join('\n')).toMatch(/4 failed/);
    expect(verdict.reasons.join('\n')).toMatch(/6 errored/);
    expect(verdict.reasons.join('\n')).toMatch(/2 timed-out/);
    expect(verdict.reasons.join('\n')).toMatch(/4 non-2xx/);
    expect(verdict.reasons.join('\n')).toMatch(/body bytes 39607 != 990 responses x 40 B/);
  });

  it('rejects an incomplete run and one with no success', () => {
    const none = loadResult({
      completed: false,
      requests: { total: 10, started: 10, done: 0, succeeded: 0, failed: 0, errored: 10, timedOut: 0 },
      statusClasses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    });
    const verdict = judgeRepetition({ load: none, expectedBodyBytes: 40, serverCpuUtilisation: 0 });
    expect(verdict.reasons).toEqual(expect.arrayContaining(['the load tool did not finish or its output was incomplete', 'no successful response']));
  });

  it('calls a run client-bound when the tool saturates and the server has room', () => {
    const load = loadResult({ toolCpu: { userSeconds: 1.5, systemSeconds: 0.45, cores: 1, utilisation: 0.97 } });
    const bound = judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 0.6 });
    expect(bound).toMatchObject({ valid: true, clientBound: true });
    expect(bound.clientBoundReason).toMatch(/97%.*60%/);
    expect(judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 0.98 }).clientBound).toBe(false);
  });
});
