import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { OPENLOOP_HISTOGRAM } from '../src/hdr.ts';
import { capacityRatio, latencyCurves } from '../src/latency-curves.ts';
import type { LoadResult } from '../src/load.ts';
import { parseSlo, type Slo } from '../src/rates.ts';
import {
  parseResults,
  type Repetition,
  type ResultsFile,
  type ScenarioResult,
  serializeResults,
} from '../src/results.ts';
import { deriveSummaries } from '../src/summary.ts';
import { scenarioResult } from './support/scenario-result.ts';

const slo = (text: string): Slo => parseSlo(text) as Slo;

function recorder(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: OPENLOOP_HISTOGRAM.lowestMicros,
    highestTrackableValue: OPENLOOP_HISTOGRAM.highestMicros,
    numberOfSignificantValueDigits: OPENLOOP_HISTOGRAM.significantDigits,
  });
}

/**
 * A run's latencies whose p99 and maximum are `p99`: 970 quick ones (100-149 us) and a tail of 30
 * at `p99`, recorded and encoded by hdr-histogram-js as openloop encodes them.
 */
function tailed(p99: number): { encoded: string; latency: LoadResult['latency'] } {
  const histogram = recorder();
  for (let i = 0; i < 970; i++) histogram.recordValue(100 + (i % 50));
  histogram.recordValueWithCount(p99, 30);
  return {
    encoded: hdr.encodeIntoCompressedBase64(histogram),
    latency: {
      minMicros: histogram.minNonZeroValue,
      meanMicros: histogram.mean,
      stdevMicros: histogram.stdDeviation,
      maxMicros: histogram.getValueAtPercentile(100),
      p50Micros: histogram.getValueAtPercentile(50),
      p75Micros: histogram.getValueAtPercentile(75),
      p90Micros: histogram.getValueAtPercentile(90),
      p99Micros: histogram.getValueAtPercentile(99),
      p999Micros: histogram.getValueAtPercentile(99.9),
      measuredFrom: 'intended-send',
    },
  };
}

interface RepOptions {
  valid?: boolean;
  /** Achieved over offered (1 when omitted). */
  kept?: number;
  /** Without the encoded histogram (a tool that gives percentiles only). */
  noHistogram?: boolean;
}

function openRep(round: number, offered: number, p99: number, options: RepOptions = {}): Repetition {
  const { encoded, latency } = tailed(p99);
  const achieved = offered * (options.kept ?? 1);
  const valid = options.valid ?? true;
  return {
    round,
    startedAt: '2026-12-03T00:00:00.000Z',
    load: {
      tool: 'openloop',
      toolVersion: '1.0.0',
      argv: [],
      elapsedSeconds: 2,
      requests: {
        total: 1000,
        started: 1000,
        done: 1000,
        succeeded: 1000,
        failed: 0,
        errored: 0,
        timedOut: 0,
      },
      statusClasses: { '1xx': 0, '2xx': 1000, '3xx': 0, '4xx': 0, '5xx': 0 },
      bytes: { total: 133_000, headers: 93_000, body: 40_000 },
      requestsPerSecond: achieved,
      megabytesPerSecond: (achieved * 133) / 1e6,
      latency,
      toolCpu: null,
      openLoop: {
        offeredPerSecond: offered,
        achievedPerSecond: achieved,
        planned: 2 * offered,
        sent: 2 * offered,
        lateSends: 0,
        lateBoundMicros: 1000,
        maxSendLagMicros: 10,
        connectionsOpened: 4,
        connectionsPeak: 4,
        connectionLimit: 10_000,
        waitedAtConnectionLimit: 0,
        ...(options.noHistogram ? {} : { histogram: encoded }),
      },
      errors: [],
      notes: [],
      completed: true,
      rawOutputPath: null,
    },
    serverCpu: [],
    serverCpuUtilisation: null,
    workers: null,
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

function stepResult(
  scenarioId: string,
  offered: number | null,
  reps: Repetition[],
  baseline: boolean,
): ScenarioResult {
  return scenarioResult({
    id: offered === null ? scenarioId : `${scenarioId}@r${offered}`,
    point: { offeredRate: offered, rateStep: offered === null ? null : String(offered) },
    reps,
    baseline,
    label: `<b>${scenarioId}</b>`,
  });
}

const RATES = [1000, 2000, 3000, 4000];

/**
 * One server's sweep: `p99s[round][step]` is that repetition's p99 (null: the round did not run
 * that step); `invalid` lists [round, step] pairs whose repetition was judged invalid.
 */
function sweep(
  scenarioId: string,
  p99s: (number | null)[][],
  options: { baseline?: boolean; invalid?: [number, number][]; rep?: RepOptions } = {},
): ScenarioResult[] {
  return RATES.map((rate, step) => {
    const reps = p99s.flatMap((row, round) => {
      const p99 = row[step];
      if (p99 === null || p99 === undefined) return [];
      const valid = !(options.invalid ?? []).some(([r, s]) => r === round && s === step);
      return [openRep(round, rate, p99, { ...options.rep, valid })];
    });
    return stepResult(scenarioId, rate, reps, options.baseline ?? false);
  });
}

// p99 per round (rows) and step (columns, 1000..4000 per second): each round's capacity at
// p99 = 1 ms is 3000, 2000, 3000, 4000, 3000.
const BRACKETED = [
  [200, 400, 800, 5000],
  [200, 400, 3000, 5000],
  [200, 400, 800, 5000],
  [200, 400, 800, 900],
  [200, 400, 800, 5000],
];

describe('capacity at a latency objective', () => {
  it('is the median over rounds of the highest rate that kept the objective, with its interval', () => {
    const [curve] = latencyCurves(sweep('2a', BRACKETED), [slo('p99=1ms')]);
    expect(curve!.capacityAtSlo[0]).toMatchObject({
      slo: { text: 'p99=1ms', percentile: 99, boundMicros: 1000 },
      // n = 5: min..max is the narrowest interval, with the 93.75% it really has.
      ratePerSecond: { value: 3000, ciLow: 2000, ciHigh: 4000, confidence: 0.9375, confidenceTarget: 0.95 },
      censored: null,
      ratioToBaseline: null,
    });
  });

  it('says when the capacity lies beyond the rates measured, on either side', () => {
    const [curve] = latencyCurves(sweep('2a', BRACKETED), [
      slo('p99=10ms'),
      slo('p99=100us'),
      slo('max=4ms'),
    ]);
    const [above, below, max] = curve!.capacityAtSlo;
    expect(above).toMatchObject({
      ratePerSecond: { value: 4000, ciLow: 4000, ciHigh: 4000 },
      censored: 'at-highest',
    });
    expect(below).toMatchObject({
      ratePerSecond: { value: 0, ciLow: 0, ciHigh: 0 },
      censored: 'below-lowest',
    });
    // The maximum is the tail here too: 3000 in every round but round 3, which kept it at 4000.
    expect(max).toMatchObject({ ratePerSecond: { value: 3000, ciLow: 3000, ciHigh: 4000 }, censored: null });
  });

  it('passes over an invalid repetition: a higher rate that kept the objective vouches for it', () => {
    // Round 2 invalid at 2000: 1000 and 3000 kept the objective, so its capacity is still 3000.
    const [curve] = latencyCurves(sweep('2a', BRACKETED, { invalid: [[2, 1]] }), [slo('p99=1ms')]);
    expect(curve!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({ value: 3000, ciLow: 2000, ciHigh: 4000 });
    // Invalid at 2000 in every round: round 1 broke it at 3000, so only 1000 is proven there.
    const [passed] = latencyCurves(
      sweep('2a', BRACKETED, { invalid: [0, 1, 2, 3, 4].map((r) => [r, 1] as [number, number]) }),
      [slo('p99=1ms')],
    );
    expect(passed!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({ value: 3000, ciLow: 1000, ciHigh: 4000 });
    expect(passed!.capacityAtSlo[0]!.censored).toBeNull();
  });

  it('judges a round whose lowest rate could not be judged from the next, never as a failure there', () => {
    // Round 0 invalid at 1000/s (the tool fell behind): 2000 and 3000 kept it, its capacity is 3000.
    const [curve] = latencyCurves(sweep('2a', BRACKETED, { invalid: [[0, 0]] }), [slo('p99=1ms')]);
    expect(curve!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({ value: 3000, ciLow: 2000, ciHigh: 4000 });
    // Its first judged step broke it above the unjudged one: below 2000, maybe above 1000, so nothing.
    const broke = BRACKETED.map((row, r) => (r === 0 ? [200, 3000, 3000, 5000] : row));
    const [unknown] = latencyCurves(sweep('2a', broke, { invalid: [[0, 0]] }), [slo('p99=1ms')]);
    // Rounds 1-4 only: 2000, 3000, 4000, 3000.
    expect(unknown!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({
      value: 3000,
      ciLow: 2000,
      ciHigh: 4000,
    });
    expect(unknown!.capacityAtSlo[0]!.ratePerSecond!.confidence).toBeLessThan(0.9375);
    const everyStep = [0, 1, 2, 3, 4].flatMap((r) => [0, 1, 2, 3].map((st) => [r, st] as [number, number]));
    const [none] = latencyCurves(sweep('2a', BRACKETED, { invalid: everyStep }), [slo('p99=1ms')]);
    expect(none!.capacityAtSlo[0]).toMatchObject({
      ratePerSecond: null,
      censored: null,
      ratioToBaseline: null,
    });
  });

  it('counts only the rounds that ran every step', () => {
    // Round 5 was cut short after 1000/s: it must not read as a failure at 2000.
    const cut = [...BRACKETED, [200, null, null, null]];
    const [curve] = latencyCurves(sweep('2a', cut), [slo('p99=1ms')]);
    expect(curve!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({ value: 3000, ciLow: 2000, ciHigh: 4000 });
    expect(curve!.points[0]!.validRepetitions).toBe(6);
  });

  it('reads the percentile the tool reported when there is no histogram, and has no capacity for one it did not', () => {
    const results = sweep('2a', BRACKETED, { rep: { noHistogram: true } });
    const [curve] = latencyCurves(results, [slo('p99=1ms'), slo('p95=10ms')]);
    expect(curve!.capacityAtSlo[0]!.ratePerSecond?.value).toBe(3000);
    expect(curve!.capacityAtSlo[1]).toMatchObject({ ratePerSecond: null, censored: null });
    expect(curve!.points.every((p) => p.spectrum === null)).toBe(true);
  });

  it('reads a run afresh when its histogram changed in place, derived again and again', () => {
    const results = sweep('2a', BRACKETED);
    const before = latencyCurves(results, [slo('p99=1ms')]);
    expect(latencyCurves(results, [slo('p99=1ms')])).toEqual(before);
    // Rounds 0 and 2 at 3000/s: 800 us before, 5 ms now, so both rounds' capacity falls to 2000.
    for (const round of [0, 2])
      results[2]!.repetitions[round]!.load.openLoop!.histogram = tailed(5000).encoded;
    const [after] = latencyCurves(results, [slo('p99=1ms')]);
    expect(before[0]!.capacityAtSlo[0]!.ratePerSecond?.value).toBe(3000);
    expect(after!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({ value: 2000, ciLow: 2000, ciHigh: 4000 });
    // And a 50 ms tail in round 1 at 4000/s is at the top of that step's spectrum.
    results[3]!.repetitions[1]!.load.openLoop!.histogram = tailed(50_000).encoded;
    const [tail] = latencyCurves(results, [slo('p99=1ms')]);
    expect(before[0]!.points[3]!.spectrum!.at(-1)!.micros).toBeLessThan(5100);
    expect(tail!.points[3]!.spectrum!.at(-1)!.micros).toBeGreaterThanOrEqual(50_000);
  });

  it('is the same whichever order the results come in', () => {
    const results = sweep('2a', BRACKETED);
    const shuffled = [results[2]!, results[0]!, results[3]!, results[1]!];
    const [curve] = latencyCurves(shuffled, [slo('p99=1ms')]);
    expect(curve!.points.map((p) => p.offeredPerSecond)).toEqual(RATES);
    expect(curve!.capacityAtSlo[0]!.ratePerSecond?.value).toBe(3000);
  });
});

describe("capacity's ratio to the baseline", () => {
  // nginx: capacities 4000, 4000, 0, 2000 and no round 4; ours 3000, 2000, 3000, 4000, 3000.
  const nginx = [
    [200, 300, 400, 500],
    [200, 300, 400, 500],
    [5000, 300, 400, 500],
    [200, 300, 5000, 500],
  ];

  it('pairs by round: rounds missing on either side, or with no baseline capacity, drop out', () => {
    const results = [...sweep('2a', BRACKETED), ...sweep('nginx-2', nginx, { baseline: true })];
    const [ours, theirs] = latencyCurves(results, [slo('p99=1ms')]);
    expect(ours!.baselineScenarioId).toBe('nginx-2');
    expect(theirs!.baselineScenarioId).toBeNull();
    expect(theirs!.capacityAtSlo[0]!.ratioToBaseline).toBeNull();
    // Rounds 0, 1, 3: 3000/4000, 2000/4000, 4000/2000.
    expect(ours!.capacityAtSlo[0]!.ratioToBaseline).toMatchObject({
      baseline: 'nginx-2',
      ratio: 0.75,
      ciLow: 0.5,
      ciHigh: 2,
      statistic: 'median-of-paired-ratios',
      paired: true,
      n: 3,
    });
  });

  it('makes one curve per worker count when the rates cross a worker sweep, each with its own baseline', () => {
    const at = (workers: number, results: ScenarioResult[]) =>
      results.map((r) => ({ ...r, id: `${r.id},w${workers}`, point: { ...r.point, workers } }));
    const results = [
      ...at(1, sweep('2a', BRACKETED)),
      ...at(2, sweep('2a', nginx)),
      ...at(1, sweep('nginx-2', nginx, { baseline: true })),
      ...at(2, sweep('nginx-2', BRACKETED, { baseline: true })),
    ];
    const curves = latencyCurves(results, [slo('p99=1ms')]);
    expect(curves.map((c) => [c.scenarioId, c.points[0]!.resultId])).toEqual([
      ['2a', '2a@r1000,w1'],
      ['2a', '2a@r1000,w2'],
      ['nginx-2', 'nginx-2@r1000,w1'],
      ['nginx-2', 'nginx-2@r1000,w2'],
    ]);
    expect(curves[0]!.capacityAtSlo[0]!.ratioToBaseline).toMatchObject({ ratio: 0.75, n: 3 });
    // Two workers, the grids swapped: 4000/3000, 4000/2000, 0/3000, 2000/4000 over rounds 0-3.
    expect(curves[1]!.capacityAtSlo[0]!.ratioToBaseline).toMatchObject({ ratio: (0.5 + 4 / 3) / 2, n: 4 });
  });

  it('is null when no round pairs', () => {
    const allZero = nginx.map(() => [5000, 5000, 5000, 5000]);
    const results = [...sweep('2a', BRACKETED), ...sweep('nginx-2', allZero, { baseline: true })];
    expect(latencyCurves(results, [slo('p99=1ms')])[0]!.capacityAtSlo[0]!.ratioToBaseline).toBeNull();
    expect(capacityRatio(new Map([[0, 5]]), new Map([[1, 5]]), 'n')).toBeNull();
  });
});

describe('the points of a curve', () => {
  it('gives the achieved rate, whether it kept up, and the medians of each percentile and the maximum', () => {
    const reps = [0.995, 0.999, 1.002].map((kept, round) =>
      openRep(round, 2000, 900 + round * 100, { kept }),
    );
    const slow = [0.97, 0.98, 0.99].map((kept, round) => openRep(round, 4000, 900, { kept }));
    const [curve] = latencyCurves(
      [stepResult('2a', 2000, reps, false), stepResult('2a', 4000, slow, false)],
      [],
    );
    const [light, heavy] = curve!.points;
    expect(light).toMatchObject({
      resultId: '2a@r2000',
      rateStep: '2000',
      offeredPerSecond: 2000,
      keptUp: true,
    });
    expect(light!.achievedPerSecond).toMatchObject({ n: 3, median: 1998 });
    expect(heavy!.keptUp).toBe(false);
    // The maxima were 900, 1000, 1100 (at the top of their buckets): their median.
    expect(light!.latency?.maxMicros?.median).toBe(reps[1]!.load.latency.maxMicros);
    expect(light!.latency?.p99Micros?.median).toBe(reps[1]!.load.latency.p99Micros);
    expect(curve!.capacityAtSlo).toEqual([]);
    expect(curve!.label).toBe('<b>2a</b>');
  });

  it('plots the spectrum of every valid repetition added together, as hdr-histogram-js reads it', () => {
    const reps = [
      openRep(0, 2000, 800),
      openRep(1, 2000, 3000),
      openRep(2, 2000, 50_000_000, { valid: false }),
    ];
    const [curve] = latencyCurves([stepResult('2a', 2000, reps, false)], []);
    const spectrum = curve!.points[0]!.spectrum!;
    const reference = recorder();
    for (const r of reps.slice(0, 2)) {
      reference.add(hdr.decodeFromCompressedBase64(r.load.openLoop!.histogram!, 64, false));
    }
    expect(spectrum.map((p) => p.percentile)).toContain(99.9);
    for (const [i, point] of spectrum.entries()) {
      expect(point.micros).toBe(reference.getValueAtPercentile(point.percentile));
      if (i > 0) expect(point.micros).toBeGreaterThanOrEqual(spectrum[i - 1]!.micros);
    }
    // The invalid repetition's 50 s tail is nowhere in it.
    expect(spectrum.at(-1)!.micros).toBeLessThan(4000);
  });

  it('makes no curve of closed-loop results or of steps that never ran', () => {
    const closed = stepResult('nginx-2', null, [openRep(0, 1000, 200)], true);
    const skipped = { ...stepResult('2b', 1000, [], false), skipped: 'not installed' };
    const results = [closed, skipped, ...sweep('2a', BRACKETED)];
    expect(latencyCurves(results, [slo('p99=1ms')]).map((c) => c.scenarioId)).toEqual(['2a']);
  });
});

// A real results.json written by `pnpm bench --profile smoke` (closed loop, schema version 1).
const smoke = readFileSync(new URL('fixtures/smoke-results-v1.json', import.meta.url), 'utf8');

describe('latency curves in results.json', () => {
  it('are derived with every summary, with the objectives and the confidence target of its own plan', () => {
    const closed = parseResults(smoke);
    const results: ResultsFile = {
      ...closed,
      plan: {
        ...closed.plan,
        tool: 'openloop',
        rates: RATES.map(String),
        slo: [slo('p99=1ms')],
        confidenceTarget: 0.9,
      },
      scenarios: [...sweep('2a', BRACKETED), ...sweep('nginx-2', BRACKETED, { baseline: true })],
    };
    deriveSummaries(results);
    expect(results.latencyCurves.map((c) => c.scenarioId)).toEqual(['2a', 'nginx-2']);
    expect(results.latencyCurves[0]!.capacityAtSlo[0]!.ratePerSecond).toMatchObject({
      value: 3000,
      confidenceTarget: 0.9,
    });
    expect(results.latencyCurves[0]!.capacityAtSlo[0]!.ratioToBaseline?.ratio).toBe(1);
    const back = parseResults(serializeResults(results));
    expect(back.latencyCurves).toEqual(results.latencyCurves);
  });

  it('are empty for a closed-loop run, and a file written before them still reads', () => {
    const older = JSON.parse(serializeResults(parseResults(smoke)));
    delete older.latencyCurves;
    delete older.plan.rates;
    delete older.plan.slo;
    for (const s of older.scenarios) {
      delete s.point.offeredRate;
      delete s.point.rateStep;
    }
    const results = parseResults(older);
    expect(results.latencyCurves).toEqual([]);
    expect(results.plan).toMatchObject({ rates: null, slo: [] });
    expect(results.scenarios.every((s) => s.point.offeredRate === null && s.point.rateStep === null)).toBe(
      true,
    );
    expect(parseResults(smoke).latencyCurves).toEqual([]);
  });
});

describe('properties', () => {
  // Per round and step: p99 (us) and whether the repetition was valid.
  const grid = fc.array(
    fc.array(fc.tuple(fc.integer({ min: 50, max: 5000 }), fc.boolean()), { minLength: 4, maxLength: 4 }),
    {
      minLength: 1,
      maxLength: 7,
    },
  );

  it('capacity lies within the offered rates, and a round pairs only with the same round', () => {
    fc.assert(
      fc.property(grid, grid, (mine, theirs) => {
        const invalid = (g: [number, boolean][][]) =>
          g.flatMap((row, r) => row.flatMap(([, valid], s) => (valid ? [] : [[r, s] as [number, number]])));
        const results = [
          ...sweep(
            '2a',
            mine.map((row) => row.map(([p99]) => p99)),
            { invalid: invalid(mine) },
          ),
          ...sweep(
            'nginx-2',
            theirs.map((row) => row.map(([p99]) => p99)),
            { baseline: true, invalid: invalid(theirs) },
          ),
        ];
        // The rule written out plainly: unjudged steps passed over; null when the first judged
        // step broke it above an unjudged one, or no step was judged.
        const capacityOfRound = (g: [number, boolean][][], r: number) => {
          let capacity: number | null = null;
          let unjudgedBelow = false;
          for (const [s, [p99, valid]] of g[r]!.entries()) {
            if (!valid) {
              if (capacity === null) unjudgedBelow = true;
              continue;
            }
            if (p99 > 1000) return capacity ?? (unjudgedBelow ? null : 0);
            capacity = RATES[s]!;
          }
          return capacity;
        };
        const [ours, base] = latencyCurves(results, [slo('p99=1ms')]);
        for (const [curve, g] of [
          [ours!, mine],
          [base!, theirs],
        ] as const) {
          const rate = curve.capacityAtSlo[0]!.ratePerSecond;
          expect(rate === null).toBe(g.every((_, r) => capacityOfRound(g, r) === null));
          if (rate === null) continue;
          expect(rate.ciLow).toBeGreaterThanOrEqual(0);
          expect(rate.value).toBeLessThanOrEqual(rate.ciHigh);
          expect(rate.ciHigh).toBeLessThanOrEqual(RATES.at(-1)!);
        }
        const ratio = ours!.capacityAtSlo[0]!.ratioToBaseline;
        // Rounds both sides judged whose baseline capacity is above 0: exactly those pair.
        const pairs = theirs.flatMap((_, r) =>
          r < mine.length && capacityOfRound(mine, r) !== null && (capacityOfRound(theirs, r) ?? 0) > 0
            ? [r]
            : [],
        );
        expect(ratio?.n ?? 0).toBe(pairs.length);
        if (ratio !== null) {
          const ratios = pairs
            .map((r) => capacityOfRound(mine, r)! / capacityOfRound(theirs, r)!)
            .sort((a, b) => a - b);
          expect(ratio.ciLow).toBeGreaterThanOrEqual(ratios[0]!);
          expect(ratio.ciHigh).toBeLessThanOrEqual(ratios.at(-1)!);
        }
      }),
      { numRuns: 40 },
    );
  });
});
