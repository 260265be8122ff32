import { LoadResultSchema } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { WRK_SUMMARY_SCRIPT, wrk } from '../../src/adapters/wrk.ts';
import { fixture } from '../helpers.ts';

const parse = (name: string, exitCode = 0) =>
  LoadResultSchema.parse(wrk.parse(fixture('wrk', name), '', exitCode, { toolVersion: 'debian/4.1.0-3+b2' }));

describe('wrk parser', () => {
  it('reads the exact summary line of a 40 B run', () => {
    const result = parse('ok-keepalive-40.txt');
    expect(result.elapsedSeconds).toBe(2.001255);
    expect(result.requests).toEqual({
      total: 267143,
      started: 267143,
      done: 267143,
      succeeded: 267143,
      failed: 0,
      errored: 0,
      timedOut: 0,
    });
    expect(result.bytes).toEqual({ total: 73998611, headers: null, body: null });
    expect(result.latency).toEqual({
      minMicros: 31,
      meanMicros: 150.22,
      stdevMicros: 87.36,
      maxMicros: 2393,
      p50Micros: 133,
      p75Micros: 153,
      p90Micros: 183,
      p99Micros: 385,
      p999Micros: 1463,
    });
    expect(result.requestsPerSecond).toBeCloseTo(267143 / 2.001255, 6);
    expect(result.errors).toEqual([]);
  });

  it('falls back to the rounded text summary without the Lua line', () => {
    const text = fixture('wrk', 'ok-keepalive-10k.txt').replace(/^SCALEUP_WRK_SUMMARY.*$/m, '');
    const result = wrk.parse(text, '', 0);
    expect(result.elapsedSeconds).toBe(2.1);
    expect(result.requests.succeeded).toBe(173526);
    expect(result.bytes.total).toBe(Math.round(1.66 * 1024 ** 3));
    expect(result.latency).toMatchObject({
      meanMicros: 262.36,
      p99Micros: 1780,
      minMicros: null,
      p999Micros: null,
    });
  });

  it('counts status >= 400 as failed', () => {
    const result = parse('404.txt');
    expect(result.requests).toMatchObject({ done: 83968, succeeded: 0, failed: 83968, errored: 0 });
    expect(result.requestsPerSecond).toBe(0);
  });

  it('counts socket error events when the server dies mid-run', () => {
    const result = parse('server-killed.txt');
    expect(result.requests).toMatchObject({ succeeded: 29393, errored: 230017, done: 259410 });
    expect(result.errors[0]).toMatch(/read 10, write 230007/);
  });

  it('says so when nothing answered', () => {
    const result = parse('timeout-slow.txt');
    expect(result.requests.done).toBe(0);
    expect(result.latency.minMicros).toBeNull();
    expect(result.errors).toEqual(['no request got an answer']);
  });

  it('turns a refused connection into an incomplete result', () => {
    const result = parse('refused.txt', 1);
    expect(result.completed).toBe(false);
    expect(result.errors[0]).toMatch(/Connection refused/);
  });

  it('refuses request-count specs and builds duration arguments', () => {
    const base = {
      url: 'http://127.0.0.1:1/',
      connections: 10,
      threads: 2,
      keepAlive: true,
      method: 'GET',
      headers: {},
      timeoutSeconds: 30,
    };
    expect(wrk.refuse({ ...base, requests: 100 })[0]).toMatch(/no request-count mode/);
    expect(wrk.buildArgs({ ...base, durationSeconds: 3 })).toEqual([
      '-t',
      '2',
      '-c',
      '10',
      '-d',
      '3s',
      '--latency',
      '-s',
      WRK_SUMMARY_SCRIPT,
      'http://127.0.0.1:1/',
    ]);
  });
});
