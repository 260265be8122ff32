import { loadProfiles } from '@scaleup/bench';
import { describe, expect, it } from 'vitest';
import { loadSpecFor, openLoopConnectionBound } from '../src/load-spec.ts';

const profiles = await loadProfiles();
const latency = profiles.latency!;
const input = { url: 'http://127.0.0.1:1/', payloadBytes: 40, connections: 64, cpus: [1] };

describe('the load spec of a rate point', () => {
  it('offers the point rate for the profile duration, its connections the lower bound', () => {
    const spec = loadSpecFor(latency, { ...input, ratePerSecond: 40_000 }, false);
    expect(spec).toMatchObject({
      ratePerSecond: 40_000,
      durationSeconds: latency.durationSeconds,
      connections: 64,
      maxConnections: 800,
      threads: 1,
      cpus: [1],
    });
  });

  it('keeps warm-up and closed-loop points closed loop', () => {
    const warmup = loadSpecFor(latency, { ...input, ratePerSecond: 40_000 }, true);
    expect(warmup.ratePerSecond).toBeUndefined();
    expect(warmup.maxConnections).toBeUndefined();
    expect(loadSpecFor(latency, { ...input, ratePerSecond: null }, false).ratePerSecond).toBeUndefined();
  });

  it('bounds connections by 20 ms in flight at the rate, never below the lower bound nor above 20000', () => {
    expect(openLoopConnectionBound(43_207, 64)).toBe(865);
    expect(openLoopConnectionBound(2000, 64)).toBe(64);
    expect(openLoopConnectionBound(10_000_000, 64)).toBe(20_000);
    expect(openLoopConnectionBound(10_000_000, 30_000)).toBe(30_000);
  });
});
