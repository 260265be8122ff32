import { LoadResultSchema } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { autocannon, autocannonOptions } from '../../src/adapters/autocannon.ts';
import { fixture } from '../helpers.ts';

const parse = (name: string, expectedBodyBytes?: number) =>
  LoadResultSchema.parse(autocannon.parse(fixture('autocannon', name), '', 0, { expectedBodyBytes }));

describe('autocannon parser', () => {
  it('reads a request-count run', () => {
    const result = parse('ok-keepalive-40.txt', 40);
    expect(result.toolVersion).toBe('8.0.0');
    expect(result.elapsedSeconds).toBe(0.567);
    expect(result.requests).toEqual({
      total: 20000,
      started: 20000,
      done: 20000,
      succeeded: 20000,
      failed: 0,
      errored: 0,
      timedOut: 0,
    });
    expect(result.bytes).toEqual({ total: 5540000, headers: null, body: null });
    expect(result.latency).toMatchObject({ p99Micros: 3000, p999Micros: 8000, maxMicros: 14000 });
    expect(result.requestsPerSecond).toBeCloseTo(20000 / 0.567, 6);
    expect(result.errors).toEqual([]);
  });

  it('reads workers and duration runs', () => {
    expect(parse('ok-keepalive-10k-workers.txt').bytes.total).toBe(204840000);
    const duration = parse('ok-duration-40.txt');
    expect(duration.requests).toMatchObject({ started: 65518, done: 65498, succeeded: 65498 });
    expect(duration.elapsedSeconds).toBe(2.025);
  });

  it('counts failures', () => {
    expect(parse('404.txt').requests).toMatchObject({ succeeded: 0, failed: 2000 });
    expect(parse('refused.txt').requests).toMatchObject({ succeeded: 0, errored: 11750, done: 11750 });
    expect(parse('server-killed.txt').requests).toMatchObject({
      succeeded: 9193,
      errored: 20010,
      done: 29203,
    });
    expect(parse('timeout-slow.txt').requests).toMatchObject({ errored: 20, timedOut: 20 });
  });

  it('fails responses whose body size autocannon found wrong', () => {
    const result = parse('wrong-body-size.txt', 10000);
    expect(result.requests).toMatchObject({ succeeded: 0, failed: 2000 });
    expect(result.errors).toEqual(['2000 responses had a body that is not 10000 bytes long']);
  });

  it('reports a killed run as incomplete', () => {
    const result = parse('killed-by-timeout.txt');
    expect(result.completed).toBe(false);
  });

  it('maps the spec to API options', () => {
    const spec = {
      url: 'http://127.0.0.1:1/',
      requests: 100,
      connections: 10,
      threads: 2,
      keepAlive: true,
      method: 'GET',
      headers: {},
      timeoutSeconds: 30,
    };
    expect(autocannonOptions(spec)).toMatchObject({ amount: 100, connections: 10, workers: 2 });
    expect(autocannon.refuse({ ...spec, connections: 9 })[0]).toMatch(/multiple of -t/);
  });
});

describe('autocannon limits', () => {
  it('refuses specs without keep-alive', () => {
    const spec = {
      url: 'http://127.0.0.1:1/',
      requests: 100,
      connections: 10,
      threads: 1,
      keepAlive: false,
      method: 'GET',
      headers: {},
      timeoutSeconds: 30,
    };
    expect(autocannon.refuse(spec)[0]).toMatch(/keeps connections alive/);
  });
});
