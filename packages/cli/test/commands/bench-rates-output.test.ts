import { readFileSync } from 'node:fs';
import { parseResults } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { msText, ratesLine, rateTables, repetitionLine } from '../../src/commands/bench-output.ts';

/** A live `bench --profile smoke --only 2a,nginx-2 --rates 10%,30%,2000 --slo p99=5ms,max=1s --reps 3`. */
const rated = () =>
  parseResults(readFileSync(new URL('../fixtures/rates-results.json', import.meta.url), 'utf8'));
const closed = () =>
  parseResults(readFileSync(new URL('../../../../results/sample/results.json', import.meta.url), 'utf8'));

describe('the bench output of a rate sweep', () => {
  it('tables each server at each offered rate, then its capacity at each objective with its ratio', () => {
    const lines = rateTables(rated());
    expect(lines[0]).toBe('open loop, 40B: latency against offered rate (medians over valid repetitions)');
    expect(lines[1]!.split(/\s{2,}/)).toEqual([
      'server',
      'step',
      'offered/s',
      'achieved/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'valid',
    ]);
    const rows = lines.slice(2, 8).map((l) => l.split(/\s{2,}/));
    // Ascending offered rate per server: the absolute step sits below this server's shares.
    expect(rows.map((r) => [r[0], r[1], r[2], r[8]])).toEqual([
      ['2a', '2000', '2,000', '3'],
      ['2a', '10%', '7,368', '3'],
      ['2a', '30%', '22,104', '3'],
      ['nginx-2', '2000', '2,000', '3'],
      ['nginx-2', '10%', '5,264', '3'],
      ['nginx-2', '30%', '15,791', '3'],
    ]);
    const p99 = rated().latencyCurves[0]!.points[2]!.latency!.p99Micros!.median;
    expect(rows[2]![5]).toBe(msText(p99));
    expect(lines).toContain(
      // Both held at their highest steps: neither capacity is known, so no ratio.
      '  capacity at p99=5ms: 2a >= 22,104/s (held at the highest rate step: the capacity is at least this)',
    );
    expect(lines.filter((l) => l.startsWith('  capacity at '))).toHaveLength(4);
  });

  it('says an objective the lowest rate already broke as below that rate', () => {
    const results = rated();
    const capacity = results.latencyCurves[0]!.capacityAtSlo[0]!;
    capacity.censored = 'below-lowest';
    capacity.ratePerSecond = { value: 0, ciLow: 0, ciHigh: 0, confidence: 0, confidenceTarget: 0.95 };
    expect(rateTables(results)).toContain(
      // Regression: the paired ratio counts such rounds as capacity 0 and read "0.000x".
      '  capacity at p99=5ms: 2a < 2,000/s (below the lowest rate step: even it broke the objective); < 0.127x nginx-2 (below our lowest step)',
    );
  });

  it('gives a bracketed capacity its interval, a round that broke at the lowest step as "< lowest"', () => {
    const results = rated();
    const capacity = results.latencyCurves[0]!.capacityAtSlo[0]!;
    capacity.censored = null;
    capacity.ratePerSecond = {
      value: 7_368,
      ciLow: 0,
      ciHigh: 22_104,
      confidence: 0.75,
      confidenceTarget: 0.95,
    };
    expect(rateTables(results)).toContain(
      // nginx held at its highest step: its capacity is a floor, so the ratio is a ceiling.
      '  capacity at p99=5ms: 2a 7,368/s [< 2,000 – 22,104] 75%*; <= 1.400x nginx-2 [1.400 – 1.400] 75%* (a capacity is censored)',
    );
  });

  it('shows each result on its own before curves are derived, and nothing for a closed-loop run', () => {
    const results = rated();
    results.latencyCurves = [];
    const rows = rateTables(results)
      .slice(2, 8)
      .map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => [r[0], r[1], r[2], r[8]])).toEqual([
      ['2a@r10%', '10%', '7,368', '3/3'],
      ['2a@r30%', '30%', '22,104', '3/3'],
      ['2a@r2000', '2000', '2,000', '3/3'],
      ['nginx-2@r10%', '10%', '5,264', '3/3'],
      ['nginx-2@r30%', '30%', '15,791', '3/3'],
      ['nginx-2@r2000', '2000', '2,000', '3/3'],
    ]);
    expect(rateTables(closed())).toEqual([]);
  });

  it('prints offered, achieved and p99 for an open-loop repetition, req/s and MB/s otherwise', () => {
    const results = rated();
    const scenario = results.scenarios.find((s) => s.id === '2a@r30%')!;
    const line = repetitionLine({
      index: 3,
      runs: 18,
      scenarioId: scenario.id,
      round: 0,
      rounds: 3,
      repetition: scenario.repetitions[0]!,
      eta: '12s',
    });
    expect(line).toMatch(
      /^\[ 3\/18\] {2}2a@r30% +rep 1\/3 {2}offered {2}22,104\/s {2}achieved +[\d,]+\/s {2}p99 [\d.]+ ms {2}valid {2}ETA 12s$/,
    );
    const sample = closed().scenarios.find((s) => s.repetitions.length > 0)!;
    expect(
      repetitionLine({
        index: 1,
        runs: 2,
        scenarioId: sample.id,
        round: 0,
        rounds: 1,
        repetition: sample.repetitions[0]!,
        eta: null,
      }),
    ).toMatch(/req\/s +[\d.]+ MB\/s/);
  });

  it('says each server capacity and its resolved rates in one line, names escaped', () => {
    expect(
      ratesLine({
        type: 'rates',
        server: '2a\u001b[31m',
        capacityPerSecond: 73_680.4,
        steps: [
          { rateStep: '10%', offeredPerSecond: 7368 },
          { rateStep: '2000', offeredPerSecond: 2000 },
        ],
      }),
    ).toBe('rates 2a\\x1b[31m: capacity 73,680/s (last warm-up run); offered 10% 7,368/s, 2000 2,000/s');
    expect(
      ratesLine({
        type: 'rates',
        server: '1a',
        capacityPerSecond: null,
        steps: [{ rateStep: '50%', offeredPerSecond: null }],
      }),
    ).toBe('rates 1a: capacity unknown; offered 50% skipped');
    expect([msText(85), msText(1240), msText(312_400), msText(null)]).toEqual(['0.085', '1.24', '312', '-']);
  });
});
