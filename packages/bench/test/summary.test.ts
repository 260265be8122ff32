import type { Repetition, ScenarioResult } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { saturatedToolWarnings } from '../src/runner.ts';
import { ratioToBaseline, summarizeScenario } from '../src/summary.ts';
import { loadResult } from './helpers.ts';

function rep(
  round: number,
  rps: number,
  valid = true,
  workers: [number, number][] | null = null,
): Repetition {
  return {
    round,
    startedAt: '2026-11-26T00:00:00.000Z',
    load: loadResult({ requestsPerSecond: rps, megabytesPerSecond: rps / 1000 }),
    serverCpu: [],
    serverCpuUtilisation: null,
    workers:
      workers === null
        ? null
        : workers.map(([requests, connections], slot) => ({ slot, pid: 100 + slot, requests, connections })),
    tcp: null,
    verdict: {
      valid,
      reasons: valid ? [] : ['3 failed responses'],
      clientBound: false,
      clientBoundReason: null,
    },
  };
}

describe('scenario summaries', () => {
  it('summarizes valid repetitions only and counts the rest', () => {
    const summary = summarizeScenario([rep(0, 100), rep(1, 300), rep(2, 999_999, false), rep(3, 200)], null);
    expect(summary.validRepetitions).toBe(3);
    expect(summary.invalidRepetitions).toBe(1);
    expect(summary.requestsPerSecond).toMatchObject({ n: 3, median: 200, min: 100, max: 300 });
    expect(summary.megabytesPerSecond?.median).toBeCloseTo(0.2, 12);
    expect(summary.ratioToBaseline).toBeNull();
  });

  it('pairs rounds where both sides are valid', () => {
    const mine = [rep(0, 120), rep(1, 110), rep(2, 130), rep(3, 1, false)];
    const nginx = [rep(0, 100), rep(1, 100), rep(2, 100), rep(3, 100)];
    const ratio = ratioToBaseline(mine, nginx, 'nginx-2')!;
    expect(ratio).toMatchObject({ baseline: 'nginx-2', paired: true, n: 3 });
    expect(ratio.ratio).toBeCloseTo(1.2, 12);
  });

  it('falls back to unpaired when too few rounds pair', () => {
    const ratio = ratioToBaseline(
      [rep(0, 50), rep(1, 70)],
      [rep(0, 100, false), rep(1, 100, false), rep(2, 140)],
      'n',
    )!;
    expect(ratio.paired).toBe(false);
    expect(ratio.ratio).toBeCloseTo(60 / 140, 12);
    expect(ratioToBaseline([rep(0, 50)], [rep(0, 100, false)], 'n')).toBeNull();
  });

  it('reports the median fairness over repetitions', () => {
    const summary = summarizeScenario(
      [
        rep(0, 1, true, [
          [50, 5],
          [50, 5],
        ]),
        rep(1, 1, true, [
          [100, 10],
          [0, 0],
        ]),
        rep(2, 1, true, [
          [75, 6],
          [25, 4],
        ]),
      ],
      null,
    );
    // Jain indices 1, 0.5 and 0.8 -> median 0.8
    expect(summary.fairnessRequests).toBeCloseTo(0.8, 12);
  });
});

describe('saturated load tool', () => {
  it('warns when the tool ran flat out in most repetitions, naming the scenario', () => {
    const flatOut = (round: number, utilisation: number) => {
      const r = rep(round, 100);
      r.load.toolCpu = { userSeconds: 1, systemSeconds: 4, cores: 1, utilisation };
      return r;
    };
    const scenario = (id: string, reps: Repetition[]) =>
      ({ id, repetitions: reps }) as unknown as ScenarioResult;
    const warnings = saturatedToolWarnings([
      scenario('1a', [flatOut(0, 0.95), flatOut(1, 0.97), flatOut(2, 0.5)]),
      scenario('nginx-1', [flatOut(0, 0.95), flatOut(1, 0.5), flatOut(2, 0.5)]),
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^1a: the load tool used >= 90% of its cores in 2 of 3 repetitions/);
  });
});
