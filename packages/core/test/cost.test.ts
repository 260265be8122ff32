import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseContextSwitches, repetitionCost } from '../src/cost.ts';
import type { LoadResult } from '../src/load.ts';
import { type Repetition, type RepetitionCost, RepetitionSchema } from '../src/results.ts';
import { costSummary, efficiencyToBaseline, summarizeScenario } from '../src/summary.ts';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`fixtures/proc/${name}`, import.meta.url)), 'utf8');

function load(succeeded: number, failed = 0): LoadResult {
  return {
    tool: 'wrk',
    toolVersion: '4.1.0',
    argv: [],
    elapsedSeconds: 2,
    requests: {
      total: succeeded + failed,
      started: succeeded + failed,
      done: succeeded + failed,
      succeeded,
      failed,
      errored: 0,
      timedOut: 0,
    },
    statusClasses: { '1xx': 0, '2xx': succeeded, '3xx': 0, '4xx': 0, '5xx': failed },
    bytes: { total: 0, headers: null, body: null },
    requestsPerSecond: succeeded / 2,
    megabytesPerSecond: 0,
    latency: {
      minMicros: null,
      meanMicros: null,
      stdevMicros: null,
      maxMicros: null,
      p50Micros: null,
      p75Micros: null,
      p90Micros: null,
      p99Micros: null,
      p999Micros: null,
    },
    toolCpu: { userSeconds: 0.3, systemSeconds: 0.1, cores: 1, utilisation: 0.2 },
    errors: [],
    notes: [],
    completed: true,
    rawOutputPath: null,
  };
}

function cost(serverCpu: number | null): RepetitionCost {
  return {
    serverCpuMicrosPerResponse: serverCpu,
    toolCpuMicrosPerResponse: null,
    serverSyscallsPerResponse: null,
    serverContextSwitchesPerResponse: null,
  };
}

function rep(round: number, serverCpu: number | null | undefined, valid = true): Repetition {
  return {
    round,
    startedAt: '2026-12-02T00:00:00.000Z',
    load: load(1000),
    serverCpu: [],
    serverCpuUtilisation: null,
    workers: null,
    tcp: null,
    stealFraction: null,
    ...(serverCpu === undefined ? {} : { cost: cost(serverCpu) }),
    verdict: { valid, reasons: valid ? [] : ['bad'], clientBound: false, clientBoundReason: null },
  };
}

describe('repetitionCost', () => {
  it('divides every side by the successful responses only', () => {
    const c = repetitionCost({
      load: load(200_000, 5000),
      serverCpu: [
        { pid: 10, role: 'master', userSeconds: 0.01, systemSeconds: 0.01 },
        { pid: 11, role: 'worker', userSeconds: 0.7, systemSeconds: 0.68 },
      ],
      serverContextSwitches: 40_000,
      serverSyscalls: 600_000,
    });
    expect(c.serverCpuMicrosPerResponse).toBeCloseTo(7.0, 9);
    expect(c.toolCpuMicrosPerResponse).toBeCloseTo(2.0, 9);
    expect(c.serverSyscallsPerResponse).toBe(3);
    expect(c.serverContextSwitchesPerResponse).toBe(0.2);
  });

  it('says null for what was not measured and for a run without a successful response', () => {
    const none = repetitionCost({
      load: { ...load(1000), toolCpu: null },
      serverCpu: [],
      serverContextSwitches: null,
      serverSyscalls: null,
    });
    expect(Object.values(none)).toEqual([null, null, null, null]);
    const failedOnly = repetitionCost({
      load: load(0, 300),
      serverCpu: [{ pid: 11, role: 'worker', userSeconds: 1, systemSeconds: 1 }],
      serverContextSwitches: 10,
      serverSyscalls: 10,
    });
    expect(Object.values(failedOnly)).toEqual([null, null, null, null]);
  });
});

describe('parseContextSwitches', () => {
  it('adds voluntary and involuntary switches from a real /proc/<pid>/status', () => {
    expect(parseContextSwitches(fixture('status-pid1.txt'))).toBe(374 + 32);
  });
  it('is null when a line is missing', () => {
    expect(parseContextSwitches('Name:\tx\nvoluntary_ctxt_switches:\t3\n')).toBeNull();
    expect(parseContextSwitches('')).toBeNull();
  });
});

describe('cost in the schema', () => {
  it('parses a repetition written before costs existed, and one with them', () => {
    expect(RepetitionSchema.parse(rep(0, undefined)).cost).toBeUndefined();
    expect(RepetitionSchema.parse(rep(0, 7)).cost?.serverCpuMicrosPerResponse).toBe(7);
  });
});

describe('efficiencyToBaseline', () => {
  it('is the median over rounds of baseline cost / this cost, paired by round', () => {
    // Rounds 0..5; this server costs 7, 7, 8, 7, 6, 7; nginx 10, 11, 10, 10, 9, 10.
    const mine = [7, 7, 8, 7, 6, 7].map((c, round) => rep(round, c));
    const nginx = [10, 11, 10, 10, 9, 10].map((c, round) => rep(round, c));
    const e = efficiencyToBaseline(mine, nginx, 'nginx')!;
    const perRound = [10 / 7, 11 / 7, 10 / 8, 10 / 7, 9 / 6, 10 / 7].sort((a, b) => a - b);
    expect(e.statistic).toBe('median-of-paired-ratios');
    expect(e.paired).toBe(true);
    expect(e.n).toBe(6);
    expect(e.baseline).toBe('nginx');
    expect(e.ratio).toBeCloseTo((perRound[2]! + perRound[3]!) / 2, 12);
    // n = 6 at 95%: min to max of the per-round ratios, with coverage 1 - 2/64.
    expect(e.ciLow).toBeCloseTo(perRound[0]!, 12);
    expect(e.ciHigh).toBeCloseTo(perRound[5]!, 12);
    expect(e.confidence).toBeCloseTo(1 - 2 / 64, 12);
  });

  it('pairs by round, not by position, whatever the order of the repetitions', () => {
    const mine = [rep(2, 5), rep(0, 10), rep(1, 20)];
    const nginx = [rep(0, 10), rep(1, 10), rep(2, 10)];
    const e = efficiencyToBaseline(mine, nginx, 'n')!;
    expect(e.paired).toBe(true);
    // Per round: 10/10, 10/20, 10/5 -> median 1.
    expect(e.ratio).toBe(1);
    expect([e.ciLow, e.ciHigh]).toEqual([0.5, 2]);
  });

  it('leaves out rounds where either side is null or invalid', () => {
    const mine = [rep(0, 5), rep(1, null), rep(2, 5), rep(3, 5), rep(4, 1, false)];
    const nginx = [rep(0, 10), rep(1, 10), rep(2, null), rep(3, 15), rep(4, 10)];
    const e = efficiencyToBaseline(mine, nginx, 'n')!;
    // Only rounds 0 and 3 have both: 2 and 3.
    expect(e.n).toBe(2);
    expect(e.ratio).toBe(2.5);
    expect([e.ciLow, e.ciHigh]).toEqual([2, 3]);
  });

  it('is null when either side has no cost at all', () => {
    const mine = [rep(0, null), rep(1, null)];
    const nginx = [rep(0, 10), rep(1, 10)];
    expect(efficiencyToBaseline(mine, nginx, 'n')).toBeNull();
    expect(efficiencyToBaseline(nginx, mine, 'n')).toBeNull();
    expect(efficiencyToBaseline([rep(0, undefined)], nginx, 'n')).toBeNull();
  });
});

describe('costSummary', () => {
  it('estimates server CPU per response over valid repetitions, like requestsPerSecond', () => {
    const reps = [rep(0, 7), rep(1, 8), rep(2, 6), rep(3, 100, false), rep(4, null)];
    const s = costSummary(reps, null)!;
    expect(s.serverCpuMicrosPerResponse?.n).toBe(3);
    expect(s.serverCpuMicrosPerResponse?.median).toBe(7);
    expect([s.serverCpuMicrosPerResponse?.ciLow, s.serverCpuMicrosPerResponse?.ciHigh]).toEqual([6, 8]);
    expect(s.serverCpuMicrosPerResponse?.confidence).toBeCloseTo(0.75, 12);
    expect(s.efficiencyToBaseline).toBeNull();
  });

  it('is null when costs were recorded but none measured, absent when none were recorded', () => {
    expect(costSummary([rep(0, null), rep(1, null)], { id: 'n', repetitions: [rep(0, 3)] })).toEqual({
      serverCpuMicrosPerResponse: null,
      efficiencyToBaseline: null,
    });
    const old = summarizeScenario([rep(0, undefined), rep(1, undefined)], {
      id: 'n',
      repetitions: [rep(0, undefined)],
    });
    expect('serverCpuMicrosPerResponse' in old).toBe(false);
    expect('efficiencyToBaseline' in old).toBe(false);
  });

  it('puts both figures into the scenario summary', () => {
    const s = summarizeScenario([rep(0, 5), rep(1, 5)], { id: 'n', repetitions: [rep(0, 10), rep(1, 10)] });
    expect(s.serverCpuMicrosPerResponse?.median).toBe(5);
    expect(s.efficiencyToBaseline?.ratio).toBe(2);
  });
});
