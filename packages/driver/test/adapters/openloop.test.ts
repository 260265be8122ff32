import { LoadResultSchema, type LoadSpec } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { openloop, requestTimeoutSeconds } from '../../src/adapters/openloop.ts';
import { decodeHistogram } from '../../src/hdr.ts';
import { loadProblems } from '../../src/result.ts';
import { prepareLoad } from '../../src/runner.ts';
import { fixture } from '../helpers.ts';

const parse = (name: string, exitCode: number | null = 0, expectedBodyBytes?: number) =>
  LoadResultSchema.parse(
    openloop.parse(fixture('openloop', name), '', exitCode, { toolVersion: '1.0.0', expectedBodyBytes }),
  );

const base: LoadSpec = {
  url: 'http://127.0.0.1:1/',
  durationSeconds: 3,
  ratePerSecond: 2000,
  connections: 4,
  threads: 1,
  keepAlive: true,
  method: 'GET',
  headers: {},
  timeoutSeconds: 30,
};

describe('openloop parser', () => {
  it('reads a clean run: counts, bytes, latency from the intended send times, the schedule', () => {
    const result = parse('ok-2000-40.txt', 0, 40);
    expect(result.elapsedSeconds).toBe(2.002449);
    expect(result.requests).toEqual({
      total: 4000,
      started: 4000,
      done: 4000,
      succeeded: 4000,
      failed: 0,
      errored: 0,
      timedOut: 0,
    });
    expect(result.statusClasses).toEqual({ '1xx': 0, '2xx': 4000, '3xx': 0, '4xx': 0, '5xx': 0 });
    expect(result.bytes).toEqual({ total: 532000, headers: 372000, body: 160000 });
    expect(result.latency).toEqual({
      minMicros: 31,
      meanMicros: 3057.314,
      stdevMicros: 9270.097,
      maxMicros: 68158,
      p50Micros: 95,
      p75Micros: 1139,
      p90Micros: 5443,
      p99Micros: 50175,
      p999Micros: 66175,
      measuredFrom: 'intended-send',
    });
    expect(result.openLoop).toMatchObject({
      offeredPerSecond: 2000,
      achievedPerSecond: 4000 / 2.002449,
      planned: 4000,
      sent: 4000,
      lateSends: 930,
      lateBoundMicros: 1000,
      maxSendLagMicros: 49780.673,
      connectionsOpened: 102,
      connectionsPeak: 102,
      connectionLimit: 10000,
      waitedAtConnectionLimit: 0,
    });
    expect(result.requestsPerSecond).toBe(result.openLoop!.achievedPerSecond);
    expect(decodeHistogram(result.openLoop!.histogram!).totalCount).toBe(4000);
    expect(result.latencyHistogram!.reduce((n, [, c]) => n + c, 0)).toBe(4000);
    expect(result.errors).toEqual([]);
  });

  it('judges a run whose sends went out late invalid, saying why (the VM was busy when this was captured)', () => {
    const problems = loadProblems(parse('ok-2000-40.txt', 0, 40));
    expect(problems).toEqual([
      expect.stringMatching(/^the load tool fell behind its schedule: 930 of 4000 sends \(23\.3%\)/),
    ]);
  });

  it('charges a 1 s stall to the requests behind it: connections opened, p99 near a second', () => {
    const result = parse('stall-1s-1000.txt', 0, 40);
    expect(result.requests.succeeded).toBe(4000);
    expect(result.latency.p99Micros).toBe(964095);
    expect(result.latency.maxMicros).toBe(1002411);
    expect(result.openLoop).toMatchObject({ connectionsPeak: 1003, waitedAtConnectionLimit: 0 });
    const slow = result.latencyHistogram!.filter(([us]) => us >= 100_000).reduce((n, [, c]) => n + c, 0);
    expect(slow / 4000).toBeGreaterThan(0.1);
  });

  it('reports the connection limit when it was reached', () => {
    const result = parse('limit-reached.txt', 0, 40);
    expect(result.openLoop).toMatchObject({
      connectionLimit: 20,
      connectionsPeak: 20,
      waitedAtConnectionLimit: 1009,
    });
    expect(result.errors).toEqual([
      'the connection limit (20) was reached: 1009 requests waited for a connection (their latency still counts from their intended time)',
    ]);
  });

  it('counts responses of the wrong size as failed, as the tool checked them', () => {
    const result = parse('wrong-body-size.txt', 0, 10000);
    expect(result.requests).toMatchObject({ succeeded: 0, failed: 1000, done: 1000 });
    expect(result.errors).toContain('1000 responses had a body that is not 10000 bytes long');
    // Parsed without the expected size (pnpm load parse without --expect-bytes): the tool's check still holds.
    expect(parse('wrong-body-size.txt', 0).requests.succeeded).toBe(0);
  });

  it('checks body bytes itself when the tool was not told the size', () => {
    expect(parse('unchecked-2-threads.txt', 0, 40).requests.succeeded).toBe(3000);
    const wrong = parse('unchecked-2-threads.txt', 0, 41);
    expect(wrong.requests.succeeded).toBe(0);
    expect(wrong.errors[0]).toMatch(/body bytes do not match the expected 41 per response/);
    // The achieved rate counts successes only, after that check.
    expect(wrong.openLoop?.achievedPerSecond).toBe(0);
  });

  it('counts 404s as failed responses', () => {
    const result = parse('404.txt', 0, 40);
    expect(result.requests).toMatchObject({ succeeded: 0, failed: 500, errored: 0 });
    expect(result.statusClasses['4xx']).toBe(500);
    expect(result.errors).toEqual(['500 responses with status 4xx']);
  });

  it('fails every request once against a closed port, and says so', () => {
    const result = parse('refused.txt', 0);
    expect(result.requests).toMatchObject({ total: 500, started: 0, errored: 500, succeeded: 0 });
    expect(result.latency.p99Micros).toBeNull();
    expect(result.errors).toEqual([
      '2 of the first connections failed',
      '500 requests errored: no complete response',
      'socket errors: connect 502, read 0, write 0, parse 0',
    ]);
    expect(loadProblems(result)).toContain('no successful response: 500 finished, 0 failed, 500 errored');
  });

  it('counts requests a silent server never answered as timed out', () => {
    const result = parse('timeout-silent.txt', 0, 40);
    expect(result.requests).toMatchObject({
      total: 100,
      started: 100,
      errored: 100,
      timedOut: 100,
      done: 100,
    });
    expect(result.openLoop).toMatchObject({ connectionLimit: 50, waitedAtConnectionLimit: 50 });
  });

  it('turns a killed run into an incomplete result', () => {
    const result = parse('killed-by-timeout.txt', null);
    expect(result.completed).toBe(false);
    expect(result.errors[0]).toMatch(/no report/);
    const cut = openloop.parse(fixture('openloop', 'ok-2000-40.txt').slice(0, 600), '', 0);
    expect(cut.completed).toBe(false);
    expect(cut.errors[0]).toMatch(/cut off/);
  });
});

describe('openloop arguments', () => {
  it('needs a rate and a duration, sends GET only', () => {
    const { ratePerSecond: _, ...closed } = base;
    expect(openloop.refuse(closed)).toEqual([
      'openloop offers a constant rate: give one (--rate R, responses per second)',
    ]);
    expect(openloop.refuse({ ...base, durationSeconds: undefined, requests: 100 })[0]).toMatch(
      /not a request count/,
    );
    expect(openloop.refuse({ ...base, method: 'POST' })).toEqual(['openloop sends GET only, not POST']);
    expect(openloop.refuse({ ...base, ratePerSecond: 0.1, durationSeconds: 2 })[0]).toMatch(
      /is not one request/,
    );
    expect(openloop.refuse({ ...base, maxConnections: 2 })).toEqual([
      '--max-connections (2) is below --connections (4)',
    ]);
    expect(openloop.refuse(base)).toEqual([]);
  });

  it('builds the argument array, with the request timeout inside the run bound', () => {
    expect(
      openloop.buildArgs({
        ...base,
        expectedBodyBytes: 40,
        maxConnections: 64,
        headers: { 'X-Run': 'a' },
        keepAlive: false,
      }),
    ).toEqual([
      '--rate',
      '2000',
      '--duration',
      '3',
      '--connections',
      '4',
      '--threads',
      '1',
      '--timeout',
      '10',
      '--max-connections',
      '64',
      '--expect-bytes',
      '40',
      '--header',
      'X-Run: a',
      '--header',
      'Connection: close',
      'http://127.0.0.1:1/',
    ]);
    expect(requestTimeoutSeconds({ durationSeconds: 25, timeoutSeconds: 35 })).toBe(5);
    expect(requestTimeoutSeconds({ durationSeconds: 3, timeoutSeconds: 3.2 })).toBe(0.5);
  });

  it('refuses a rate for a closed-loop tool', () => {
    expect(() => prepareLoad(base, 'wrk')).toThrow(/wrk runs closed loop and cannot offer a constant rate/);
    expect(prepareLoad(base, 'openloop').ratePerSecond).toBe(2000);
  });
});
