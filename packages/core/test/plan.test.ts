import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPlan, maximumRuns, plannedRuns, pointCpus, powersOfTwoUpTo, roundOf } from '../src/plan.ts';
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
    });
    expect(plan.groups[0]!.instances[2]!.point.accept).toBeNull();
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
