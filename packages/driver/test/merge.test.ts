import { type HostLoadResult, LoadResultSchema, RepetitionLoadSchema } from '@scaleup/core';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { h2load } from '../src/adapters/h2load.ts';
import { openloop } from '../src/adapters/openloop.ts';
import { wrk } from '../src/adapters/wrk.ts';
import { histogramQuantile, mergeHistograms, mergeLoads } from '../src/merge.ts';
import { fixture } from './helpers.ts';

// Two real wrk runs (wrk-summary.lua prints the whole distribution), as if from two hosts.
const a: HostLoadResult = { ...wrk.parse(fixture('wrk', 'ok-histogram-40-a.txt'), ''), host: 'h1' };
const b: HostLoadResult = { ...wrk.parse(fixture('wrk', 'ok-histogram-40-b.txt'), ''), host: 'h2' };

describe('merging several hosts', () => {
  it('reads the whole distribution wrk-summary.lua prints', () => {
    const total = a.latencyHistogram!.reduce((n, [, c]) => n + c, 0);
    // Every response wrk timed is in the distribution.
    expect(total).toBeGreaterThanOrEqual(a.requests.done - 10);
    expect(histogramQuantile(a.latencyHistogram!, 0.5)).toBe(a.latency.p50Micros);
  });

  it('sums counts and bytes, and takes throughput over the common window', () => {
    const merged = mergeLoads([a, b]);
    expect(merged.requests.succeeded).toBe(a.requests.succeeded + b.requests.succeeded);
    expect(merged.requests.done).toBe(a.requests.done + b.requests.done);
    expect(merged.bytes.total).toBe(a.bytes.total + b.bytes.total);
    expect(merged.elapsedSeconds).toBe(Math.max(a.elapsedSeconds, b.elapsedSeconds));
    expect(merged.requestsPerSecond).toBeCloseTo(merged.requests.succeeded / merged.elapsedSeconds, 9);
    // Never more than the two rates added: the longer window is the denominator.
    expect(merged.requestsPerSecond).toBeLessThanOrEqual(a.requestsPerSecond + b.requestsPerSecond + 1e-9);
    expect(merged.hosts!.map((h) => h.host)).toEqual(['h1', 'h2']);
    expect(merged.hosts![0]!.latencyHistogram).toBeUndefined();
  });

  it('takes percentiles from the merged distribution, not an average of percentiles', () => {
    const merged = mergeLoads([a, b]);
    const both = mergeHistograms([a.latencyHistogram!, b.latencyHistogram!]);
    expect(merged.latency.merge).toBe('histogram');
    expect(merged.latency.p99Micros).toBe(histogramQuantile(both, 0.99));
    expect(merged.latency.p50Micros).toBe(histogramQuantile(both, 0.5));
    expect(merged.latency.minMicros).toBe(Math.min(a.latency.minMicros!, b.latency.minMicros!));
    expect(merged.latency.maxMicros).toBe(Math.max(a.latency.maxMicros!, b.latency.maxMicros!));
  });

  it('marks percentiles as upper bounds when a host gave no distribution (h2load)', () => {
    const ok = h2load.parse(fixture('h2load', 'ok-keepalive-40.txt'), '');
    const merged = mergeLoads([
      { ...ok, host: 'h1' },
      { ...ok, host: 'h2', latency: { ...ok.latency, p99Micros: (ok.latency.p99Micros ?? 0) + 500 } },
    ]);
    expect(merged.latency.merge).toBe('upper-bound');
    expect(merged.latency.meanMicros).toBeNull();
    if (ok.latency.p99Micros !== null) expect(merged.latency.p99Micros).toBe(ok.latency.p99Micros + 500);
  });

  it('names the host in every error, and is incomplete when one host is', () => {
    const broken: HostLoadResult = { ...b, completed: false, errors: ['lost the connection'] };
    const merged = mergeLoads([a, broken]);
    expect(merged.completed).toBe(false);
    expect(merged.errors).toContain('h2: lost the connection');
  });
});

/** A real openloop run as one load host's result. */
const openHost = (name: string, host: string): HostLoadResult => ({
  ...LoadResultSchema.parse(
    openloop.parse(fixture('openloop', name), '', 0, { toolVersion: '1.0.0', expectedBodyBytes: 40 }),
  ),
  host,
});

describe('merging hosts that ran open loop', () => {
  // Two real runs: 2000/s against a healthy server, and 1000/s through a 1 s SIGSTOP stall.
  const light = openHost('ok-2000-40.txt', 'h1');
  const stalled = openHost('stall-1s-1000.txt', 'h2');

  it('adds up what the hosts offered, planned, sent and found late; the worst lag is the worst host', () => {
    const merged = RepetitionLoadSchema.parse(mergeLoads([light, stalled]));
    const [a, b] = [light.openLoop!, stalled.openLoop!];
    expect(merged.openLoop).toMatchObject({
      offeredPerSecond: a.offeredPerSecond + b.offeredPerSecond,
      planned: a.planned + b.planned,
      sent: a.sent + b.sent,
      lateSends: a.lateSends + b.lateSends,
      lateBoundMicros: Math.max(a.lateBoundMicros, b.lateBoundMicros),
      maxSendLagMicros: Math.max(a.maxSendLagMicros, b.maxSendLagMicros),
      connectionsOpened: a.connectionsOpened + b.connectionsOpened,
      connectionsPeak: a.connectionsPeak + b.connectionsPeak,
      connectionLimit: a.connectionLimit + b.connectionLimit,
      waitedAtConnectionLimit: a.waitedAtConnectionLimit + b.waitedAtConnectionLimit,
    });
    // Achieved over the common window, as requestsPerSecond is: never the two rates added.
    expect(merged.openLoop!.achievedPerSecond).toBe(merged.requestsPerSecond);
    expect(merged.requestsPerSecond).toBeCloseTo(merged.requests.succeeded / merged.elapsedSeconds, 9);
    expect(merged.latency.measuredFrom).toBe('intended-send');
    // Each host keeps its own open-loop figures.
    expect(merged.hosts!.map((h) => h.openLoop!.offeredPerSecond)).toEqual([
      a.offeredPerSecond,
      b.offeredPerSecond,
    ]);
  });

  it('adds the histograms exactly, and its percentiles are the merged latency figures', () => {
    const merged = mergeLoads([light, stalled]);
    const histogram = hdr.decodeFromCompressedBase64(merged.openLoop!.histogram!, 64, false);
    expect(histogram.totalCount).toBe(light.requests.done + stalled.requests.done);
    const byHand = hdr.decodeFromCompressedBase64(light.openLoop!.histogram!, 64, false);
    byHand.add(hdr.decodeFromCompressedBase64(stalled.openLoop!.histogram!, 64, false));
    for (const percentile of [50, 75, 90, 99, 99.9, 100]) {
      expect(histogram.getValueAtPercentile(percentile)).toBe(byHand.getValueAtPercentile(percentile));
    }
    expect(merged.latency.merge).toBe('histogram');
    expect(merged.latency.p99Micros).toBe(histogram.getValueAtPercentile(99));
    expect(merged.latency.p50Micros).toBe(histogram.getValueAtPercentile(50));
  });

  it('leaves the histogram out when one host has none, and open loop out when one host ran closed loop', () => {
    const { histogram: _, ...bare } = stalled.openLoop!;
    const partial = mergeLoads([light, { ...stalled, openLoop: bare }]);
    expect(partial.openLoop).toBeDefined();
    expect(partial.openLoop!.histogram).toBeUndefined();
    const mixed = mergeLoads([light, a]);
    expect(mixed.openLoop).toBeUndefined();
    expect(mixed.latency.measuredFrom).toBeUndefined();
  });
});
