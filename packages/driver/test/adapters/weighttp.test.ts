import { LoadResultSchema } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { weighttp } from '../../src/adapters/weighttp.ts';
import { fixture } from '../helpers.ts';

interface Expected {
  elapsedSeconds: number;
  requests: {
    total: number;
    started: number;
    done: number;
    succeeded: number;
    failed: number;
    errored: number;
  };
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  bytes: { total: number; http: number; data: number };
}
const expected = JSON.parse(fixture('weighttp', '0.4-expected.json')) as Record<string, Expected>;

describe('weighttp 0.4 (the seed outputs)', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`reads ${name}`, () => {
      const result = weighttp.parse(fixture('weighttp', `0.4-${name}.txt`), '', 0);
      expect(LoadResultSchema.parse(result)).toEqual(result);
      expect(result.elapsedSeconds).toBeCloseTo(want.elapsedSeconds, 6);
      expect(result.requests).toEqual({ ...want.requests, timedOut: 0 });
      expect(result.statusClasses).toEqual({ '1xx': 0, ...want.status });
      expect(result.bytes).toEqual({
        total: want.bytes.total,
        headers: want.bytes.http,
        body: want.bytes.data,
      });
      expect(result.requestsPerSecond).toBeCloseTo(want.requests.succeeded / want.elapsedSeconds, 6);
      expect(result.megabytesPerSecond).toBeCloseTo(want.bytes.total / want.elapsedSeconds / 1e6, 6);
      expect(result.errors).toEqual([]);
      expect(result.completed).toBe(true);
    });
  }

  it('checks body bytes per succeeded response', () => {
    const text = fixture('weighttp', '0.4-nginx-2-40.txt');
    expect(weighttp.parse(text, '', 0, { expectedBodyBytes: 40 }).requests.succeeded).toBe(1000000);
    const wrong = weighttp.parse(text, '', 0, { expectedBodyBytes: 10000 });
    expect(wrong.requests).toMatchObject({ succeeded: 0, failed: 1000000 });
    expect(wrong.requestsPerSecond).toBe(0);
    expect(wrong.errors[0]).toMatch(
      /expected 10000 per response: 40000000 bytes over 1000000 responses \(40 each\)/,
    );
  });

  it('recomputes req/s from successes when every request failed', () => {
    const text = fixture('weighttp', '0.4-nginx-2-40.txt')
      .replace('1000000 succeeded, 0 failed, 0 errored', '0 succeeded, 1000000 failed, 1000000 errored')
      .replace('1000000 2xx', '0 2xx');
    const result = weighttp.parse(text, '', 0);
    expect(result.requests).toMatchObject({ done: 1000000, succeeded: 0, failed: 0, errored: 1000000 });
    expect(result.requestsPerSecond).toBe(0);
    expect(result.megabytesPerSecond).toBe(0);
  });

  it('reports truncated output as incomplete', () => {
    const text = fixture('weighttp', '0.4-nginx-1-10000.txt').split('\nfinished')[0] ?? '';
    const result = weighttp.parse(text, 'error: connect() failed: Connection refused (111)', 0);
    expect(result.completed).toBe(false);
    expect(result.errors[0]).toMatch(/no summary|Connection refused/);
  });
});

describe('weighttp 0.5 (JSON-style summary)', () => {
  it('reads ok-keepalive-10k', () => {
    const result = weighttp.parse(fixture('weighttp', '0.5-ok-keepalive-10k.txt'), '', 0, {
      expectedBodyBytes: 10000,
    });
    expect(result.toolVersion).toBe('0.5');
    expect(result.elapsedSeconds).toBe(3.550445);
    expect(result.requests).toEqual({
      total: 100000,
      started: 100000,
      done: 100000,
      succeeded: 100000,
      failed: 0,
      errored: 0,
      timedOut: 0,
    });
    expect(result.bytes).toEqual({ total: 1024100000, headers: 24100000, body: 1000000000 });
    expect(result.requestsPerSecond).toBeCloseTo(100000 / 3.550445, 6);
    expect(result.errors).toEqual([]);
  });
});

// Captured here with a build of lighttpd/weighttp's src/weighttp.c (see fixtures/README.md). That
// build prints `request_counts.total`, and its `response_counts.errs` is always 0: weighttp_report()
// never adds the workers' error counts up.
describe('weighttp 0.5 captures (built from source)', () => {
  it('reads ok-keepalive-40', () => {
    const result = weighttp.parse(fixture('weighttp', '0.5-ok-keepalive-40.txt'), '', 0, {
      expectedBodyBytes: 40,
    });
    expect(LoadResultSchema.parse(result)).toEqual(result);
    expect(result.toolVersion).toBe('0.5');
    expect(result.elapsedSeconds).toBe(0.704962);
    expect(result.requests).toEqual({
      total: 20000,
      started: 20000,
      done: 20000,
      succeeded: 20000,
      failed: 0,
      errored: 0,
      timedOut: 0,
    });
    expect(result.statusClasses).toEqual({ '1xx': 0, '2xx': 20000, '3xx': 0, '4xx': 0, '5xx': 0 });
    expect(result.bytes).toEqual({ total: 5540000, headers: 4740000, body: 800000 });
    expect(result.requestsPerSecond).toBeCloseTo(20000 / 0.704962, 6);
    expect(result.megabytesPerSecond).toBeCloseTo(5540000 / 0.704962 / 1e6, 6);
    expect(result.errors).toEqual([]);
    expect(result.completed).toBe(true);
  });

  it('fails every response of ok-keepalive-40 when 10000-byte bodies were expected', () => {
    const result = weighttp.parse(fixture('weighttp', '0.5-ok-keepalive-40.txt'), '', 0, {
      expectedBodyBytes: 10000,
    });
    expect(result.requests).toMatchObject({ succeeded: 0, failed: 20000, errored: 0 });
    expect(result.requestsPerSecond).toBe(0);
    expect(result.errors[0]).toMatch(
      /expected 10000 per response: 800000 bytes over 20000 responses \(40 each\)/,
    );
  });

  it('reads 404: every response failed with a status', () => {
    const result = weighttp.parse(fixture('weighttp', '0.5-404.txt'), '', 0);
    expect(LoadResultSchema.parse(result)).toEqual(result);
    expect(result.elapsedSeconds).toBe(0.079771);
    expect(result.requests).toEqual({
      total: 2000,
      started: 2000,
      done: 2000,
      succeeded: 0,
      failed: 2000,
      errored: 0,
      timedOut: 0,
    });
    expect(result.statusClasses).toEqual({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 2000, '5xx': 0 });
    expect(result.bytes).toEqual({ total: 616000, headers: 310000, body: 306000 });
    expect(result.requestsPerSecond).toBe(0);
    expect(result.megabytesPerSecond).toBe(0);
    expect(result.errors).toEqual(['2000 responses with status 4xx']);
    expect(result.completed).toBe(true);
  });

  it('reads refused as incomplete: weighttp died (SIGFPE) before printing anything', () => {
    // Every connect was refused, so weighttp_report() divides by 0 connections and the process
    // dies from SIGFPE; its block-buffered stdout is lost and it prints nothing to stderr. The
    // runner passes a null exit code for a signal death.
    const text = fixture('weighttp', '0.5-refused.txt');
    expect(text).toBe('');
    const result = weighttp.parse(text, '', null);
    expect(LoadResultSchema.parse(result)).toEqual(result);
    expect(result.requests).toEqual({
      total: 0,
      started: 0,
      done: 0,
      succeeded: 0,
      failed: 0,
      errored: 0,
      timedOut: 0,
    });
    expect(result.requestsPerSecond).toBe(0);
    expect(result.completed).toBe(false);
    expect(result.errors.length).toBeGreaterThan(0);
    expect(result.errors[0]).toMatch(/no summary/);
  });

  it('reads server-killed: requests that never got a status are errored, not failed', () => {
    // nginx (master and worker) was SIGKILLed 0.5 s into the run; the rest of the 200000 requests
    // found the port closed. weighttp counts them all in `fail` and prints `errs: 0` (see above),
    // but only 9608 responses carried a status, all 2xx: fail - 4xx - 5xx = 190392 errored.
    const result = weighttp.parse(fixture('weighttp', '0.5-server-killed.txt'), '', 0, {
      expectedBodyBytes: 40,
    });
    expect(LoadResultSchema.parse(result)).toEqual(result);
    expect(result.elapsedSeconds).toBe(3.411004);
    expect(result.requests).toEqual({
      total: 200000,
      started: 200000,
      done: 200000,
      succeeded: 9608,
      failed: 0,
      errored: 190392,
      timedOut: 0,
    });
    expect(result.statusClasses).toEqual({ '1xx': 0, '2xx': 9608, '3xx': 0, '4xx': 0, '5xx': 0 });
    expect(result.bytes).toEqual({ total: 2661416, headers: 2277096, body: 384320 });
    expect(result.requestsPerSecond).toBeCloseTo(9608 / 3.411004, 6);
    expect(result.errors).toEqual(['190392 requests errored: no complete response']);
    expect(result.completed).toBe(true);
  });
});

describe('weighttp arguments', () => {
  it('builds the seed command line', () => {
    const spec = {
      url: 'http://127.0.0.1:8080/',
      requests: 1000000,
      connections: 4000,
      threads: 4,
      keepAlive: true,
      method: 'GET',
      headers: {},
      timeoutSeconds: 30,
    };
    expect(weighttp.buildArgs(spec)).toEqual([
      '-n',
      '1000000',
      '-c',
      '4000',
      '-t',
      '4',
      '-k',
      'http://127.0.0.1:8080/',
    ]);
    expect(weighttp.refuse({ ...spec, requests: undefined, durationSeconds: 5 })[0]).toMatch(
      /no duration mode/,
    );
  });
});

describe('weighttp 0.5: every request reset, no status at all', () => {
  it('counts them as errored, not succeeded, whatever req/s weighttp printed', () => {
    const result = weighttp.parse(fixture('weighttp', '0.5-all-reset.txt'), '', 0, { expectedBodyBytes: 40 });
    expect(result.requests).toMatchObject({ done: 2000, succeeded: 0, failed: 0, errored: 2000 });
    expect(result.requestsPerSecond).toBe(0);
    expect(result.errors).toContain('2000 requests errored: no complete response');
  });
});
