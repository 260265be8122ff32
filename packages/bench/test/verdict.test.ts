import { describe, expect, it } from 'vitest';
import { judgeRepetition } from '../src/verdict.ts';
import { loadResult } from './helpers.ts';

describe('repetition verdicts', () => {
  it('accepts a clean run', () => {
    expect(
      judgeRepetition({ load: loadResult(), expectedBodyBytes: 40, serverCpuUtilisation: 0.99 }),
    ).toEqual({
      valid: true,
      reasons: [],
      clientBound: false,
      clientBoundReason: null,
    });
  });

  it('rejects failures, errors, non-2xx and wrong sizes, naming each', () => {
    const load = loadResult({
      requests: {
        total: 1000,
        started: 1000,
        done: 1000,
        succeeded: 990,
        failed: 4,
        errored: 6,
        timedOut: 2,
      },
      statusClasses: { '1xx': 0, '2xx': 990, '3xx': 0, '4xx': 4, '5xx': 0 },
    });
    const verdict = judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 1 });
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons.join('\n')).toMatch(/4 failed/);
    expect(verdict.reasons.join('\n')).toMatch(/6 errored/);
    expect(verdict.reasons.join('\n')).toMatch(/2 timed-out/);
    expect(verdict.reasons.join('\n')).toMatch(/4 non-2xx/);
  });

  it('rejects a body byte total that is not responses x payload', () => {
    const load = loadResult({ bytes: { total: 1, headers: 1, body: 1000 * 40 + 7 } });
    const verdict = judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 1 });
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons.join('\n')).toMatch(/body bytes 40007 != 1000 responses x 40 B/);
  });

  it('rejects a count-mode run that stopped short, but not a measurement note', () => {
    const short = loadResult({
      requests: { total: 1000, started: 1000, done: 900, succeeded: 900, failed: 0, errored: 0, timedOut: 0 },
      bytes: { total: 1, headers: 1, body: 900 * 40 },
    });
    expect(
      judgeRepetition({ load: short, expectedBodyBytes: 40, serverCpuUtilisation: 1, requestedCount: 1000 })
        .reasons,
    ).toEqual(['100 of 1000 requests never finished']);
    const noted = loadResult({ errors: ['tool CPU from the last /proc sample'] });
    expect(judgeRepetition({ load: noted, expectedBodyBytes: 40, serverCpuUtilisation: 1 }).valid).toBe(true);
  });

  it('rejects an incomplete run and one with no success', () => {
    const none = loadResult({
      completed: false,
      requests: { total: 10, started: 10, done: 0, succeeded: 0, failed: 0, errored: 10, timedOut: 0 },
      statusClasses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    });
    const verdict = judgeRepetition({ load: none, expectedBodyBytes: 40, serverCpuUtilisation: 0 });
    expect(verdict.reasons).toEqual(
      expect.arrayContaining([
        'the load tool did not finish or its output was incomplete',
        'no successful response',
      ]),
    );
  });

  it('calls a run client-bound when the tool saturates and the server has room', () => {
    const load = loadResult({
      toolCpu: { userSeconds: 1.5, systemSeconds: 0.45, cores: 1, utilisation: 0.97 },
    });
    const bound = judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 0.6 });
    expect(bound).toMatchObject({ valid: true, clientBound: true });
    expect(bound.clientBoundReason).toMatch(/97%.*60%/);
    expect(judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 0.98 }).clientBound).toBe(
      false,
    );
  });
});

describe('duration-mode body bytes', () => {
  it('allows partial bodies of in-flight responses cut off at the end, never fewer bytes', () => {
    const load = loadResult({ bytes: { total: 1, headers: 1, body: 1000 * 40 + 40 * 16 } });
    expect(
      judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 1, inFlightResponses: 16 }).valid,
    ).toBe(true);
    expect(judgeRepetition({ load, expectedBodyBytes: 40, serverCpuUtilisation: 1 }).valid).toBe(false);
    const tooMuch = loadResult({ bytes: { total: 1, headers: 1, body: 1000 * 40 + 40 * 16 + 1 } });
    expect(
      judgeRepetition({
        load: tooMuch,
        expectedBodyBytes: 40,
        serverCpuUtilisation: 1,
        inFlightResponses: 16,
      }).valid,
    ).toBe(false);
    const short = loadResult({ bytes: { total: 1, headers: 1, body: 1000 * 40 - 1 } });
    expect(
      judgeRepetition({ load: short, expectedBodyBytes: 40, serverCpuUtilisation: 1, inFlightResponses: 16 })
        .valid,
    ).toBe(false);
  });
});

describe('tools that count only total bytes', () => {
  const wrkLike = (total: number) => loadResult({ tool: 'wrk', bytes: { total, headers: null, body: null } });

  it('checks every response against the verified whole-response size', () => {
    expect(
      judgeRepetition({
        load: wrkLike(1000 * 10096),
        expectedBodyBytes: 10000,
        serverCpuUtilisation: 1,
        responseBytes: 10096,
      }).valid,
    ).toBe(true);
    const off = judgeRepetition({
      load: wrkLike(1000 * 10096 - 5),
      expectedBodyBytes: 10000,
      serverCpuUtilisation: 1,
      responseBytes: 10096,
    });
    expect(off.reasons).toEqual([
      'traffic 10095995 B != 1000 responses x 10096 B (the verified response size)',
    ]);
  });

  it('skips the check when the response size is unknown (no Content-Length)', () => {
    expect(
      judgeRepetition({
        load: wrkLike(12345),
        expectedBodyBytes: 40,
        serverCpuUtilisation: 1,
        responseBytes: null,
      }).valid,
    ).toBe(true);
  });
});
