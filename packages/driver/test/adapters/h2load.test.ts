import { LoadResultSchema } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { h2load } from '../../src/adapters/h2load.ts';
import { fixture } from '../helpers.ts';

const parse = (name: string, expectedBodyBytes?: number) =>
  LoadResultSchema.parse(
    h2load.parse(fixture('h2load', name), '', 0, { toolVersion: '1.52.0', expectedBodyBytes }),
  );

describe('h2load parser', () => {
  it('reads a keep-alive run with 40 B bodies', () => {
    const result = parse('ok-keepalive-40.txt', 40);
    expect(result.elapsedSeconds).toBe(0.26068);
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
    expect(result.bytes).toEqual({ total: 5540000, headers: 3720000, body: 800000 });
    expect(result.requestsPerSecond).toBeCloseTo(20000 / 0.26068, 6);
    expect(result.megabytesPerSecond).toBeCloseTo(5540000 / 0.26068 / 1e6, 6);
    expect(result.latency).toMatchObject({
      minMicros: 21,
      maxMicros: 4150,
      meanMicros: 254,
      stdevMicros: 223,
      p50Micros: null,
    });
    expect(result.errors).toEqual([]);
    expect(result.completed).toBe(true);
  });

  it('reads a 10 kB run over two threads', () => {
    const result = parse('ok-keepalive-10k.txt', 10000);
    expect(result.requests.succeeded).toBe(20000);
    expect(result.bytes).toEqual({ total: 204840000, headers: 3820000, body: 200000000 });
    expect(result.errors).toEqual([]);
  });

  it('reads duration mode', () => {
    const result = parse('ok-duration-40.txt');
    expect(result.elapsedSeconds).toBe(2);
    expect(result.requests).toMatchObject({
      total: 250917,
      started: 250937,
      done: 250917,
      succeeded: 250917,
    });
  });

  it('takes total bytes as headers + data when Connection: close zeroes it', () => {
    const result = parse('no-keepalive-40.txt', 40);
    expect(result.bytes).toEqual({ total: 442000, headers: 362000, body: 80000 });
    expect(result.errors).toHaveLength(1);
  });

  it('counts 404s as failed, with no throughput', () => {
    const result = parse('404.txt', 40);
    expect(result.requests).toMatchObject({ done: 2000, succeeded: 0, failed: 2000, errored: 0 });
    expect(result.statusClasses['4xx']).toBe(2000);
    expect(result.requestsPerSecond).toBe(0);
    expect(result.megabytesPerSecond).toBe(0);
    expect(result.errors).toEqual(['2000 responses with status 4xx']);
  });

  it('counts throughput over 2xx only when some responses are 5xx', () => {
    const result = parse('mixed-500.txt');
    expect(result.requests).toMatchObject({ done: 2000, succeeded: 1500, failed: 500, errored: 0 });
    expect(result.requestsPerSecond).toBeCloseTo(1500 / 0.16907, 6);
    expect(result.megabytesPerSecond).toBeCloseTo((337500 * 0.75) / 0.16907 / 1e6, 6);
  });

  it('counts refused connections as errored (h2load counts them as failed too)', () => {
    const result = parse('refused.txt');
    expect(result.requests).toEqual({
      total: 2000,
      started: 0,
      done: 2000,
      succeeded: 0,
      failed: 0,
      errored: 2000,
      timedOut: 0,
    });
    expect(result.requestsPerSecond).toBe(0);
  });

  it('reads resets, a server killed mid-run and inactivity timeouts', () => {
    expect(parse('resets.txt').requests).toMatchObject({
      succeeded: 20,
      failed: 0,
      errored: 1980,
      done: 2000,
    });
    const killed = parse('server-killed.txt');
    expect(killed.requests).toMatchObject({
      total: 2000000,
      succeeded: 16924,
      errored: 1983076,
      done: 2000000,
    });
    expect(killed.requestsPerSecond).toBeCloseTo(16924 / 0.49304, 6);
    expect(parse('timeout-slow.txt').requests).toMatchObject({ errored: 1000, timedOut: 10, succeeded: 0 });
  });

  it('fails every response when the body bytes do not add up', () => {
    const result = parse('short-bodies.txt', 10000);
    expect(result.requests).toMatchObject({ succeeded: 0, failed: 2000 });
    expect(result.requestsPerSecond).toBe(0);
    expect(result.errors[0]).toMatch(/15000000 bytes over 2000 responses \(7500 each\)/);
  });

  it('reports output cut off by a kill as incomplete', () => {
    const result = parse('killed-by-timeout.txt');
    expect(result.completed).toBe(false);
    expect(result.requests.done).toBe(0);
    expect(result.errors[0]).toMatch(/no summary/);
  });

  it('builds arguments for both modes', () => {
    const base = {
      url: 'http://127.0.0.1:1/',
      connections: 100,
      threads: 1,
      keepAlive: true,
      method: 'GET',
      headers: {},
      timeoutSeconds: 30,
    };
    expect(h2load.buildArgs({ ...base, requests: 1000 })).toEqual([
      '--h1',
      '-n',
      '1000',
      '-c',
      '100',
      '-t',
      '1',
      'http://127.0.0.1:1/',
    ]);
    expect(
      h2load.buildArgs({ ...base, durationSeconds: 5, keepAlive: false, headers: { 'X-A': 'b' } }),
    ).toEqual([
      '--h1',
      '-D',
      '5',
      '-c',
      '100',
      '-t',
      '1',
      '-H',
      'X-A: b',
      '-H',
      'Connection: close',
      'http://127.0.0.1:1/',
    ]);
  });
});

describe('h2load refusals', () => {
  it('refuses fractional durations, which h2load rejects after starting', () => {
    const spec = {
      url: 'http://127.0.0.1:1/',
      durationSeconds: 0.5,
      connections: 1,
      threads: 1,
      keepAlive: true,
      method: 'GET',
      headers: {},
      timeoutSeconds: 30,
    };
    expect(h2load.refuse(spec)).toEqual(['h2load takes whole seconds, got a duration of 0.5']);
    expect(h2load.refuse({ ...spec, durationSeconds: 2 })).toEqual([]);
  });
});
