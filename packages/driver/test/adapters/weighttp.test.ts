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
