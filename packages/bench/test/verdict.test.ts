import { describe, expect, it } from 'vitest';
import { judgeRepetition, trafficExplained } from '../src/verdict.ts';
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

  it("puts why an incomplete run is incomplete first: a load host's lost connection names the host", () => {
    const cut = loadResult({
      completed: false,
      requests: { total: 0, started: 0, done: 0, succeeded: 0, failed: 0, errored: 0, timedOut: 0 },
      statusClasses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
      errors: ["load-1: connection lost mid-run: the load tool's result never arrived"],
    });
    const verdict = judgeRepetition({ load: cut, expectedBodyBytes: 40, serverCpuUtilisation: 0 });
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons[0]).toBe("load-1: connection lost mid-run: the load tool's result never arrived");
    expect(verdict.reasons).not.toContain('the load tool did not finish or its output was incomplete');
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
      'traffic 10095995 B is not 1000 responses of 10096 B (the verified response forms)',
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

describe('whole-response sizes from the verified forms', () => {
  // nginx stock: 276 B keep-alive responses, and every 100th one closes the connection with
  // `Connection: close`, 5 bytes shorter (271 B). wrk counts only total bytes.
  const forms = [
    { bytes: 276, closes: false },
    { bytes: 271, closes: true },
  ];
  const wrkRun = (succeeded: number, total: number) =>
    loadResult({
      tool: 'wrk',
      requests: {
        total: succeeded,
        started: succeeded,
        done: succeeded,
        succeeded,
        failed: 0,
        errored: 0,
        timedOut: 0,
      },
      bytes: { total, headers: null, body: null },
    });

  it('accepts a stock-nginx run whose total is an exact mix of keep-alive and closing responses', () => {
    // 100000 responses on 16 connections, all lives complete: 1000 closing responses.
    const total = 99_000 * 276 + 1000 * 271;
    const verdict = judgeRepetition({
      load: wrkRun(100_000, total),
      expectedBodyBytes: 40,
      serverCpuUtilisation: 1,
      responseForms: forms,
      closeAfterRequests: 100,
      connections: 16,
    });
    expect(verdict).toMatchObject({ valid: true, reasons: [] });
    // The old check knew one form only, and called this run invalid.
    const oneForm = judgeRepetition({
      load: wrkRun(100_000, total),
      expectedBodyBytes: 40,
      serverCpuUtilisation: 1,
      responseBytes: 276,
    });
    expect(oneForm.valid).toBe(false);
  });

  it('still fails a body one byte short, which no allowed number of closes explains', () => {
    const total = 100_000 * 275;
    const verdict = judgeRepetition({
      load: wrkRun(100_000, total),
      expectedBodyBytes: 40,
      serverCpuUtilisation: 1,
      responseForms: forms,
      closeAfterRequests: 100,
      connections: 16,
    });
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons.join('\n')).toMatch(
      /is not 100000 responses of 276 B or 271 B \(closing\), closing after 100/,
    );
  });

  it('bounds the closes by the connections still open at the end, and allows partials in duration mode', () => {
    expect(
      trafficExplained({
        totalBytes: 1050 * 276 - 10 * 5,
        succeeded: 1050,
        forms,
        closeAfterRequests: 100,
        connections: 16,
        inFlight: 0,
      }),
    ).toBe(true);
    // 1050 responses allow at most 10 closing ones.
    expect(
      trafficExplained({
        totalBytes: 1050 * 276 - 11 * 5,
        succeeded: 1050,
        forms,
        closeAfterRequests: 100,
        connections: 16,
        inFlight: 0,
      }),
    ).toBe(false);
    expect(
      trafficExplained({
        totalBytes: 1050 * 276 - 10 * 5 + 100,
        succeeded: 1050,
        forms,
        closeAfterRequests: 100,
        connections: 16,
        inFlight: 16,
      }),
    ).toBe(true);
    expect(
      trafficExplained({
        totalBytes: 10 * 276,
        succeeded: 10,
        forms: [{ bytes: 276, closes: false }],
        closeAfterRequests: null,
        connections: 1,
        inFlight: 0,
      }),
    ).toBe(true);
  });
});
