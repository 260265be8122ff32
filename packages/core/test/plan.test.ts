import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildPlan,
  maximumRuns,
  plannedRuns,
  pointCpus,
  powersOfTwoUpTo,
  resolveGroupRates,
  resolveRateStep,
  roundOf,
  warmupKeyOf,
  withoutRateStep,
} from '../src/plan.ts';
import { type Profile, parseProfiles, parseSuite, selectScenarios } from '../src/scenario.ts';

const repoFile = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../scenarios/${name}`, import.meta.url), 'utf8'));
const suite = parseSuite(repoFile('seed.json'), 'seed.json');
const profiles = parseProfiles(repoFile('profiles.json'), 'profiles.json').profiles;
const smoke = profiles.smoke!;
const profile = (overrides: Partial<Profile>): Profile => ({ ...smoke, ...overrides });

describe('the plan without a sweep', () => {
  it('groups by payload in suite order, one point per scenario, ids unchanged, baselines found', () => {
    const plan = buildPlan({ scenarios: suite.scenarios, profile: smoke, cpus: [0, 1] });
    expect(plan.swept).toBe(false);
    expect(
      plan.groups.map((g) => [g.key, g.instances.map((i) => `${i.id}->${i.baselineId}`), g.servers.length]),
    ).toEqual([
      ['10000B', ['1a->nginx-1', '1b->nginx-1', 'nginx-1->null'], 3],
      ['40B', ['2a->nginx-2', '2b->nginx-2', 'nginx-2->null'], 3],
    ]);
    // Split pinning on two CPUs: server side CPU 0, the tool CPU 1, one worker each.
    expect(plan.groups[0]!.instances[0]!.point).toEqual({
      workers: 1,
      connections: 16,
      serverCpus: [0],
      loadCpus: [1],
      accept: 'shared',
      offeredRate: null,
      rateStep: null,
    });
    expect(plan.groups[0]!.instances[2]!.point.accept).toBeNull();
    expect(plan.rates).toBeNull();
    expect(plannedRuns(plan)).toBe(6 * smoke.repetitions);
  });

  it('interleaves round by round within a group', () => {
    const plan = buildPlan({
      scenarios: selectScenarios(suite, ['1a', 'nginx-1']),
      profile: smoke,
      cpus: [0, 1],
    });
    const group = plan.groups[0]!;
    expect(
      [0, 1, 2].flatMap((r) => roundOf(group, r).map((run) => `${run.instanceId}@${run.round}`)),
    ).toEqual(['1a@0', 'nginx-1@0', '1a@1', 'nginx-1@1', '1a@2', 'nginx-1@2']);
  });

  it('keeps the seed profile: unpinned, nginx at its own 1000 connections and still the baseline', () => {
    const plan = buildPlan({ scenarios: suite.scenarios, profile: profiles.seed!, cpus: [0, 1, 2, 3] });
    const [a, , nginx] = plan.groups[0]!.instances;
    expect(a!.point).toMatchObject({ workers: 4, connections: 4000, serverCpus: null, loadCpus: null });
    expect(nginx!.point.connections).toBe(1000);
    expect(a!.baselineId).toBe('nginx-1');
  });
});

describe('sweeps', () => {
  it('expands workers x connections with point ids, each compared with nginx at the same point', () => {
    const plan = buildPlan({
      scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
      profile: profile({ workers: [1, 2], connections: [16, 64], pinning: 'none' }),
      cpus: [0, 1],
    });
    expect(plan.swept).toBe(true);
    const ids = plan.groups[0]!.instances.map((i) => `${i.id}->${i.baselineId}`);
    expect(ids).toEqual([
      '2a@w1,c16->nginx-2@w1,c16',
      '2a@w1,c64->nginx-2@w1,c64',
      '2a@w2,c16->nginx-2@w2,c16',
      '2a@w2,c64->nginx-2@w2,c64',
      'nginx-2@w1,c16->null',
      'nginx-2@w1,c64->null',
      'nginx-2@w2,c16->null',
      'nginx-2@w2,c64->null',
    ]);
    // A connection sweep needs no new server: one per scenario and worker count.
    expect(plan.groups[0]!.servers.map((s) => s.key)).toEqual([
      '2a|1|any|shared',
      '2a|2|any|shared',
      'nginx-2|1|any|',
      'nginx-2|2|any|',
    ]);
    expect(plan.sweep).toEqual({ workers: [1, 2], connections: [16, 64], serverCpus: null, accept: null });
  });

  it('gives each pinned point one CPU per worker and skips, with the reason, what the machine cannot give', () => {
    const plan = buildPlan({
      scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
      profile: profile({ workers: [1, 2, 4] }),
      cpus: [0, 1, 2, 3],
    });
    const points = plan.groups[0]!.instances.map((i) => [i.id, i.point.serverCpus, i.point.loadCpus]);
    expect(points).toContainEqual(['2a@w1', [0], [1, 2, 3]]);
    expect(points).toContainEqual(['2a@w2', [0, 1], [2, 3]]);
    expect(plan.skipped.map((s) => s.id)).toEqual(['2a@w4', 'nginx-2@w4']);
    expect(plan.skipped[0]!.reason).toMatch(
      /needs 4 CPUs for the server side and at least 1 for the load tool; 4 are available/,
    );
  });

  it('sweeps server CPUs apart from workers, and accept modes for scaleup only', () => {
    const plan = buildPlan({
      scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
      profile: profile({ workers: 2, serverCpus: [1], accept: ['shared', 'reuseport'] }),
      cpus: [0, 1],
    });
    expect(plan.groups[0]!.instances.map((i) => `${i.id}->${i.baselineId}`)).toEqual([
      '2a@shared->nginx-2',
      '2a@reuseport->nginx-2',
      'nginx-2->null',
    ]);
    expect(plan.groups[0]!.instances[0]!.point).toMatchObject({
      workers: 2,
      serverCpus: [0],
      accept: 'shared',
    });
  });

  it("resolves 'powers-of-two' against the server side's CPUs", () => {
    expect(powersOfTwoUpTo(1)).toEqual([1]);
    expect(powersOfTwoUpTo(6)).toEqual([1, 2, 4, 6]);
    expect(powersOfTwoUpTo(8)).toEqual([1, 2, 4, 8]);
    const eight = buildPlan({
      scenarios: selectScenarios(suite, ['2a']),
      profile: profile({ workers: 'powers-of-two' }),
      cpus: [0, 1, 2, 3, 4, 5, 6, 7],
    });
    expect(eight.sweep.workers).toEqual([1, 2, 4]);
    const two = buildPlan({
      scenarios: selectScenarios(suite, ['2a']),
      profile: profile({ workers: 'powers-of-two', pinning: 'none' }),
      cpus: [0, 1],
    });
    expect(two.sweep.workers).toEqual([1, 2]);
  });

  it('splits CPUs per point, or says why not', () => {
    expect(pointCpus('none', [0, 1], 2)).toEqual({ serverCpus: null, loadCpus: null });
    expect(pointCpus('split', [0, 1, 2], null)).toEqual({ serverCpus: [0], loadCpus: [1, 2] });
    expect(pointCpus('split', [0, 1], 2)).toHaveProperty('reason');
  });

  it('plans adaptive rounds between the minimum and the maximum', () => {
    const plan = buildPlan({
      scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
      profile: profile({ repetitions: 5, targetCiPercent: 5, maxRepetitions: 20 }),
      cpus: [0, 1],
    });
    expect(plan.rounds).toEqual({ min: 5, max: 20 });
    expect(plan.adaptive).toEqual({ targetCiPercent: 5, maxRepetitions: 20, timeBudgetSeconds: null });
    expect([plannedRuns(plan), maximumRuns(plan)]).toEqual([10, 40]);
  });
});

const pair = selectScenarios(suite, ['1a', 'nginx-1']);

describe('rate steps (open loop), a sweep axis', () => {
  it('gives every point its step, absolute ones their rate now, ids the step, baselines the same step', () => {
    const plan = buildPlan({
      scenarios: pair,
      profile: profile({ rates: ['75%', '20k'], slo: ['p99=10ms'] }),
      cpus: [0, 1],
    });
    expect(plan.swept).toBe(true);
    expect(plan.rates?.map((r) => r.text)).toEqual(['75%', '20000']);
    expect(plan.slo).toEqual([{ text: 'p99=10ms', percentile: 99, boundMicros: 10_000 }]);
    const group = plan.groups[0]!;
    // One server per scenario serves every step.
    expect(group.servers).toHaveLength(2);
    expect(group.instances.map((i) => [i.id, i.point.rateStep, i.point.offeredRate, i.baselineId])).toEqual([
      ['1a@r75%', '75%', null, 'nginx-1@r75%'],
      ['nginx-1@r75%', '75%', null, null],
      ['1a@r20000', '20000', 20_000, 'nginx-1@r20000'],
      ['nginx-1@r20000', '20000', 20_000, null],
    ]);
    expect(plannedRuns(plan)).toBe(4 * smoke.repetitions);
  });

  it('runs the fixed rounds of an adaptive profile: an offered rate fixes the throughput it would judge', () => {
    const adaptive = profile({ targetCiPercent: 5, maxRepetitions: 30 });
    expect(buildPlan({ scenarios: pair, profile: adaptive, cpus: [0, 1] }).adaptive).not.toBeNull();
    const plan = buildPlan({ scenarios: pair, profile: { ...adaptive, rates: ['50%'] }, cpus: [0, 1] });
    expect(plan.adaptive).toBeNull();
    expect(plan.rounds).toEqual({ min: adaptive.repetitions, max: adaptive.repetitions });
  });

  it('interleaves: each round runs every server at the first step, then every server at the next', () => {
    const plan = buildPlan({
      scenarios: pair,
      profile: profile({ rates: ['25%', '50%', '100%'] }),
      cpus: [0, 1],
    });
    const group = plan.groups[0]!;
    expect([0, 1].flatMap((r) => roundOf(group, r).map((run) => `${run.instanceId}#${run.round}`))).toEqual([
      '1a@r25%#0',
      'nginx-1@r25%#0',
      '1a@r50%#0',
      'nginx-1@r50%#0',
      '1a@r100%#0',
      'nginx-1@r100%#0',
      '1a@r25%#1',
      'nginx-1@r25%#1',
      '1a@r50%#1',
      'nginx-1@r50%#1',
      '1a@r100%#1',
      'nginx-1@r100%#1',
    ]);
  });

  it('combines with the other axes: connections x rates, each step of a server sharing its warm-up', () => {
    const plan = buildPlan({
      scenarios: pair,
      profile: profile({ rates: ['50%', '100%'], connections: [16, 64], pinning: 'none' }),
      cpus: [0, 1],
    });
    const group = plan.groups[0]!;
    expect(group.instances.map((i) => i.id)).toEqual([
      '1a@c16,r50%',
      '1a@c64,r50%',
      'nginx-1@c16,r50%',
      'nginx-1@c64,r50%',
      '1a@c16,r100%',
      '1a@c64,r100%',
      'nginx-1@c16,r100%',
      'nginx-1@c64,r100%',
    ]);
    expect(group.instances.find((i) => i.id === '1a@c64,r100%')!.baselineId).toBe('nginx-1@c64,r100%');
    const keys = new Set(group.instances.map(warmupKeyOf));
    // Four warm-ups: two servers at two connection counts; the steps share them.
    expect(keys.size).toBe(4);
    expect(warmupKeyOf(group.instances[0]!)).toBe(warmupKeyOf(group.instances[4]!));
    // Closed-loop points warm up on their own, as before.
    const closed = buildPlan({ scenarios: pair, profile: smoke, cpus: [0, 1] }).groups[0]!;
    expect(closed.instances.map(warmupKeyOf)).toEqual(['1a', 'nginx-1']);
    expect(group.instances.map((i) => withoutRateStep(i.id)).slice(0, 4)).toEqual([
      '1a@c16',
      '1a@c64',
      'nginx-1@c16',
      'nginx-1@c64',
    ]);
    expect(withoutRateStep('1a@r75%')).toBe('1a');
    expect(withoutRateStep('1a')).toBe('1a');
    // An accept mode is no rate step.
    expect(withoutRateStep('2a@c64,rr')).toBe('2a@c64,rr');
    expect(withoutRateStep('2a@reuseport,r12.5%')).toBe('2a@reuseport');
  });

  it('keeps points the machine cannot give skipped at every step, with the step in their id', () => {
    const plan = buildPlan({
      scenarios: selectScenarios(suite, ['2a']),
      profile: profile({ rates: ['10k'], workers: [1, 4] }),
      cpus: [0, 1],
    });
    expect(plan.groups[0]!.instances.map((i) => i.id)).toEqual(['2a@w1,r10000']);
    expect(plan.skipped.map((s) => s.id)).toEqual(['2a@w4,r10000']);
  });
});

describe('resolving rate steps after warm-up (pure)', () => {
  it("takes a share of the server's own capacity, whole responses per second; absolute steps as given", () => {
    expect(resolveRateStep('75%', 41_234)).toEqual({ perSecond: 30_926 });
    expect(resolveRateStep('100%', 41_234)).toEqual({ perSecond: 41_234 });
    expect(resolveRateStep('0.001%', 10)).toEqual({ perSecond: 1 });
    expect(resolveRateStep('20000', null)).toEqual({ perSecond: 20_000 });
    expect(resolveRateStep('50%', null)).toEqual({
      problem: '50% of capacity is unknown: the warm-up measured no succeeded responses',
    });
    expect(resolveRateStep('50%', 0)).toHaveProperty('problem');
  });

  it("resolves a group from each server's warm-up, every server from its own capacity", () => {
    const plan = buildPlan({ scenarios: pair, profile: profile({ rates: ['50%', '5000'] }), cpus: [0, 1] });
    const group = plan.groups[0]!;
    const capacities = new Map([
      [warmupKeyOf(group.instances.find((i) => i.id === '1a@r50%')!), 40_000],
      [warmupKeyOf(group.instances.find((i) => i.id === 'nginx-1@r50%')!), 30_000],
    ]);
    const resolved = resolveGroupRates(group, (key) => capacities.get(key) ?? null);
    expect(resolved.map((r) => [r.instanceId, r.capacityPerSecond, r.offeredPerSecond, r.problem])).toEqual([
      ['1a@r50%', 40_000, 20_000, null],
      ['nginx-1@r50%', 30_000, 15_000, null],
      ['1a@r5000', 40_000, 5000, null],
      ['nginx-1@r5000', 30_000, 5000, null],
    ]);
    const unknown = resolveGroupRates(group, () => null);
    expect(unknown.map((r) => r.offeredPerSecond)).toEqual([null, null, 5000, 5000]);
    expect(unknown[0]!.problem).toMatch(/unknown/);
    // Closed-loop points are not rate points.
    expect(
      resolveGroupRates(buildPlan({ scenarios: pair, profile: smoke, cpus: [0, 1] }).groups[0]!, () => 1),
    ).toEqual([]);
  });
});
