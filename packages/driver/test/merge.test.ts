import type { HostLoadResult } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { h2load } from '../src/adapters/h2load.ts';
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
