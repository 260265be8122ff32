import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../src/load.ts';
import {
  type Point,
  parseResults,
  type Repetition,
  type ResultsFile,
  type ScenarioResult,
} from '../src/results.ts';
import {
  baselineFor,
  deriveSummaries,
  ratioToBaseline,
  scalingCurves,
  summarizeAll,
  summarizeScenario,
} from '../src/summary.ts';
import { scenarioResult } from './support/scenario-result.ts';

function loadResult(
  rps: number,
  latency: Partial<LoadResult['latency']> = {},
  utilisation = 0.5,
): LoadResult {
  return {
    tool: 'wrk',
    toolVersion: '4.1.0',
    argv: [],
    elapsedSeconds: 2,
    requests: { total: 1000, started: 1000, done: 1000, succeeded: 1000, failed: 0, errored: 0, timedOut: 0 },
    statusClasses: { '1xx': 0, '2xx': 1000, '3xx': 0, '4xx': 0, '5xx': 0 },
    bytes: { total: 180000, headers: null, body: null },
    requestsPerSecond: rps,
    megabytesPerSecond: rps / 1000,
    latency: {
      minMicros: 1,
      meanMicros: 2,
      stdevMicros: 1,
      maxMicros: 9,
      p50Micros: 2,
      p75Micros: 3,
      p90Micros: 4,
      p99Micros: 8,
      p999Micros: 9,
      ...latency,
    },
    toolCpu: { userSeconds: 0.5, systemSeconds: 0.5, cores: 1, utilisation },
    errors: [],
    notes: [],
    completed: true,
    rawOutputPath: null,
  };
}

function rep(
  round: number,
  rps: number,
  valid = true,
  workers: [number, number][] | null = null,
  latency: Partial<LoadResult['latency']> = {},
): Repetition {
  return {
    round,
    startedAt: '2026-11-26T00:00:00.000Z',
    load: loadResult(rps, latency),
    serverCpu: [],
    serverCpuUtilisation: null,
    workers:
      workers === null
        ? null
        : workers.map(([requests, connections], slot) => ({ slot, pid: 100 + slot, requests, connections })),
    tcp: null,
    stealFraction: null,
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
  it('summarizes latency as the median over repetitions of each percentile, never an average', () => {
    const summary = summarizeScenario(
      [
        rep(0, 1, true, null, { p99Micros: 100 }),
        rep(1, 1, true, null, { p99Micros: 900 }),
        rep(2, 1, true, null, { p99Micros: 200 }),
      ],
      null,
    );
    expect(summary.latency?.p99Micros).toMatchObject({ median: 200, min: 100, max: 900, n: 3 });
    expect(summary.latency?.upperBound).toBe(false);
  });

  it("summarizes each repetition's maximum latency the same way, over valid repetitions only", () => {
    const summary = summarizeScenario(
      [
        rep(0, 1, true, null, { maxMicros: 5000 }),
        rep(1, 1, true, null, { maxMicros: 1_000_000 }),
        rep(2, 1, false, null, { maxMicros: 9_000_000 }),
        rep(3, 1, true, null, { maxMicros: 7000 }),
        rep(4, 1, true, null, { maxMicros: null }),
      ],
      null,
    );
    expect(summary.latency?.maxMicros).toMatchObject({ median: 7000, min: 5000, max: 1_000_000, n: 3 });
  });

  it('reports the busiest worker share and flags a saturated tool as a lower bound', () => {
    const reps = [
      rep(0, 1, true, [
        [90, 9],
        [10, 1],
      ]),
      rep(1, 1, true, [
        [80, 8],
        [20, 2],
      ]),
      rep(2, 1, true, [
        [70, 7],
        [30, 3],
      ]),
    ];
    for (const r of reps.slice(0, 2)) r.load.toolCpu!.utilisation = 0.97;
    const summary = summarizeScenario(reps, null);
    expect(summary.busiestShareRequests).toBeCloseTo(0.8, 12);
    expect(summary.busiestShareConnections).toBeCloseTo(0.8, 12);
    expect(summary.toolSaturatedRepetitions).toBe(2);
    expect(summary.lowerBound).toBe(true);
  });
});

function result(id: string, point: Partial<Point>, reps: Repetition[], baseline = false): ScenarioResult {
  return scenarioResult({ id, point, reps, baseline });
}

const rounds = (values: number[]) => values.map((v, i) => rep(i, v));

describe('per-point summaries and scaling curves', () => {
  it('compares every point with the baseline at the same point', () => {
    const results = [
      result('2a@w1', { workers: 1 }, rounds([120, 121, 119, 122, 118, 120])),
      result('2a@w2', { workers: 2 }, rounds([230, 231, 229, 232, 228, 230])),
      result('nginx-2@w1', { workers: 1 }, rounds([100, 100, 100, 100, 100, 100]), true),
      result('nginx-2@w2', { workers: 2 }, rounds([200, 200, 200, 200, 200, 200]), true),
    ];
    expect(baselineFor(results[1]!, results)?.id).toBe('nginx-2@w2');
    summarizeAll(results);
    expect(results[0]!.summary?.ratioToBaseline?.ratio).toBeCloseTo(1.2, 12);
    expect(results[1]!.summary?.ratioToBaseline).toMatchObject({
      baseline: 'nginx-2@w2',
      statistic: 'median-of-paired-ratios',
      n: 6,
    });
    expect(results[1]!.summary?.ratioToBaseline?.ratio).toBeCloseTo(1.15, 12);
  });

  it('gives speedup and efficiency with intervals, paired by round, and where the curve stops rising', () => {
    const results = [
      result('2a@w1', { workers: 1 }, rounds([100, 102, 98, 101, 99, 100, 103])),
      result('2a@w2', { workers: 2 }, rounds([190, 196, 186, 193, 189, 190, 197])),
      result('2a@w4', { workers: 4 }, rounds([191, 190, 187, 196, 186, 192, 193])),
    ];
    summarizeAll(results);
    const [curve] = scalingCurves(results);
    expect(curve).toMatchObject({ scenarioId: '2a', baseWorkers: 1, connections: 16, accept: 'shared' });
    const [one, two, four] = curve!.points;
    expect(one!.speedup?.value).toBe(1);
    expect(two!.speedup!.value).toBeCloseTo(1.9, 1);
    expect(two!.speedup!.ciLow).toBeGreaterThan(1.8);
    expect(two!.speedup!.confidence).toBeGreaterThanOrEqual(0.95);
    expect(two!.efficiency!.value).toBeCloseTo(two!.speedup!.value / 2, 12);
    expect(four!.efficiency!.value).toBeLessThan(0.5);
    // 1 -> 2 rose beyond the noise, 2 -> 4 did not.
    expect(curve!.stopsRisingAt).toBe(2);
  });

  it('makes no curve from a single worker count', () => {
    const results = [result('2a', { workers: 1 }, rounds([100, 101, 99]))];
    summarizeAll(results);
    expect(scalingCurves(results)).toEqual([]);
  });
});

describe('deriveSummaries: the one derivation of summaries and curves', () => {
  // A results file whose plan sweeps server CPUs on their own axis, at a 90% target.
  const swept = (): ResultsFile => {
    const v1 = parseResults(readFileSync(new URL('fixtures/smoke-results-v1.json', import.meta.url), 'utf8'));
    return {
      ...v1,
      plan: { ...v1.plan, confidenceTarget: 0.9, sweep: { ...v1.plan.sweep, serverCpus: [1, 2] } },
      scenarios: [
        result('2a@w1,s1', { workers: 1, serverCpus: [0] }, rounds([100, 102, 98, 101, 99])),
        result('2a@w2,s1', { workers: 2, serverCpus: [0] }, rounds([101, 103, 99, 100, 98])),
        result('2a@w1,s2', { workers: 1, serverCpus: [0, 1] }, rounds([100, 101, 99, 102, 98])),
        result('2a@w2,s2', { workers: 2, serverCpus: [0, 1] }, rounds([190, 196, 186, 193, 189])),
      ],
      scaling: [],
    };
  };

  it("takes the options from the results' own plan: its confidence target, server CPUs as an axis", () => {
    const results = swept();
    deriveSummaries(results);
    // One curve per server CPU count, not the four points mixed into one.
    expect(results.scaling.map((c) => c.points.map((p) => p.resultId))).toEqual([
      ['2a@w1,s1', '2a@w2,s1'],
      ['2a@w1,s2', '2a@w2,s2'],
    ]);
    expect(results.scaling[0]!.points[0]!.speedup?.confidenceTarget).toBe(0.9);
    expect(results.scenarios[0]!.summary?.requestsPerSecond?.confidenceTarget).toBe(0.9);
  });

  it('gives an upgraded version-1 file what deriving afresh gives', () => {
    const v1 = parseResults(readFileSync(new URL('fixtures/smoke-results-v1.json', import.meta.url), 'utf8'));
    const again = structuredClone(v1);
    deriveSummaries(again);
    expect(v1.scaling).toEqual(again.scaling);
    expect(v1.scenarios.map((s) => s.summary)).toEqual(again.scenarios.map((s) => s.summary));
  });

  // The defect this guards: the runner, the importer and the version-1 upgrade each derived
  // summaries themselves, two of them calling scalingCurves without the plan's options.
  it('is the only caller of summarizeAll and scalingCurves in packages/*/src', () => {
    const root = process.env.SCALEUP_SOURCE_ROOT ?? fileURLToPath(new URL('../../..', import.meta.url));
    const callers: string[] = [];
    for (const pkg of readdirSync(join(root, 'packages'))) {
      const src = join(root, 'packages', pkg, 'src');
      if (!existsSync(src)) continue;
      for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || (pkg === 'core' && file === 'summary.ts')) continue;
        const text = readFileSync(join(src, file), 'utf8');
        if (/\b(summarizeAll|scalingCurves)\(/.test(text)) callers.push(`${pkg}/src/${file}`);
      }
    }
    expect(callers).toEqual([]);
  });
});
