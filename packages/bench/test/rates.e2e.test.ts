import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResults } from '@scaleup/core';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { scaleupCliCommand } from '../src/servers.ts';

const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * bench --rates against our server and a real nginx: closed-loop warm-up, shares of each server's
 * own capacity resolved from it, then openloop at each rate. The CLI starts the servers on
 * allocated ports and stops them in its own finally; the run is bounded in time (1-second runs,
 * one round, a 180 s bound on the whole command). Validity is not asserted: on a busy machine
 * openloop may fall behind its schedule, and such a repetition is invalid by design.
 */
describe('bench --rates end to end (real server, real nginx, openloop)', () => {
  it('records each point offered rate, the open-loop histograms and the latency curves', async () => {
    const out = await mkdtemp(join(tmpdir(), 'scaleup-bench-rates-'));
    dirs.push(out);
    const cli = scaleupCliCommand([
      'bench',
      '--profile',
      'smoke',
      '--only',
      '1a,nginx-1',
      '--rates',
      '10%,1000',
      '--slo',
      'p99=10ms',
      '--reps',
      '1',
      '--duration',
      '1',
      '--out',
      out,
      '--no-report',
    ]);
    const run = await execa(cli.file, cli.args, { reject: false, timeout: 180_000 });
    expect([0, 1], run.stderr).toContain(run.exitCode);
    const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.complete).toBe(true);
    expect(results.plan.tool).toBe('openloop');
    expect(results.plan.rates).toEqual(['10%', '1000']);
    expect(results.plan.slo.map((s) => s.text)).toEqual(['p99=10ms']);
    expect(results.scenarios.map((s) => s.id)).toEqual([
      '1a@r10%',
      '1a@r1000',
      'nginx-1@r10%',
      'nginx-1@r1000',
    ]);
    for (const s of results.scenarios) {
      expect(s.skipped, s.id).toBeNull();
      // Each step's rate came from its own server's last warm-up run (closed loop, wrk).
      const capacity = s.warmup?.requestsPerSecond.at(-1);
      expect(capacity, s.id).toBeGreaterThan(0);
      expect(s.point.offeredRate, s.id).toBe(
        s.point.rateStep === '10%' ? Math.max(1, Math.round(0.1 * capacity!)) : 1000,
      );
      expect(s.repetitions).toHaveLength(1);
      const load = s.repetitions[0]!.load;
      expect(load.tool).toBe('openloop');
      expect(load.latency.measuredFrom).toBe('intended-send');
      expect(load.openLoop?.offeredPerSecond).toBeCloseTo(s.point.offeredRate!, 0);
      expect(load.openLoop?.histogram?.length, s.id).toBeGreaterThan(0);
    }
    // The two servers' shares differ (each of its own capacity); the absolute step is the same.
    const tenth = results.scenarios.filter((s) => s.point.rateStep === '10%').map((s) => s.point.offeredRate);
    expect(tenth.every((r) => r !== null && r > 0)).toBe(true);
    // Warm-up ran once per server (the steps share it), with the closed-loop tool.
    const raw = await readdir(join(out, 'raw'));
    expect(raw.filter((f) => f.includes('warmup')).sort()).toEqual([
      '1a_r10_-warmup1.txt',
      'nginx-1_r10_-warmup1.txt',
    ]);
    expect(run.stderr).toMatch(/with openloop \(warm-up closed loop with \w+\)/);
    expect(run.stderr).toMatch(
      /^rates 1a: capacity [\d,]+\/s \(last warm-up run\); offered 10% [\d,]+\/s, 1000 1,000\/s$/m,
    );
    expect(run.stderr).toMatch(/offered +1,000\/s {2}achieved +[\d,]+\/s {2}p99 [\d.]+ ms/);
    expect(run.stderr).toMatch(/^open loop, 10000B: latency against offered rate/m);
    // The curves (core's deriveSummaries): one per server, both steps, the capacity at the SLO.
    expect(results.latencyCurves.map((c) => [c.scenarioId, c.points.length, c.capacityAtSlo.length])).toEqual(
      [
        ['1a', 2, 1],
        ['nginx-1', 2, 1],
      ],
    );
    expect(run.stderr).toMatch(/capacity at p99=10ms: 1a /);
  }, 200_000);
});
