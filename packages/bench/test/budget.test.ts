import type { Plan, PlanGroup } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { TimeBudget } from '../src/budget.ts';
import { RunProgress } from '../src/progress.ts';

const group = (key: string, points: number): PlanGroup =>
  ({
    key,
    payloadBytes: 40,
    servers: [],
    instances: Array.from({ length: points }, (_, i) => ({ id: `${key}${i}` })),
  }) as unknown as PlanGroup;

describe('the time budget of adaptive rounds', () => {
  it('shares what is left among the groups still to run, by their points', () => {
    const a = group('a', 2);
    const b = group('b', 6);
    const budget = new TimeBudget(80);
    expect(budget.shareOf(a, [a, b])).toBe(20);
    budget.startGroup(0);
    expect(budget.leftSeconds(10_000)).toBe(70);
    budget.endGroup(30_000);
    // 30 s spent: the 50 s left all go to the last group.
    expect(budget.shareOf(b, [b])).toBe(50);
    expect(budget.leftSeconds(99_000)).toBe(50);
  });
});

describe('run progress', () => {
  const plan = {
    groups: [group('a', 2)],
    rounds: { min: 3, max: 9 },
    adaptive: { targetCiPercent: 5, maxRepetitions: 9, timeBudgetSeconds: 60 },
  } as unknown as Plan;

  it('estimates from the planned duration until a run finished, then from the runs measured', () => {
    const progress = new RunProgress(plan, 5, null);
    expect(progress.expectedRuns).toBe(6);
    expect(progress.start()).toBe(1);
    expect(progress.etaSeconds()).toBe(30);
    progress.finish(4);
    expect(progress.etaSeconds()).toBe(20);
    progress.addRound(2);
    expect(progress.expectedRuns).toBe(8);
    // Every group at its maximum: 17 runs more at 4 s.
    expect(progress.etaMaxSeconds(0)).toBe(68);
  });

  it('bounds the adaptive estimate by the budget left plus the minimum rounds still owed', () => {
    const budget = new TimeBudget(40);
    const progress = new RunProgress(plan, 5, budget);
    progress.start();
    progress.finish(4);
    budget.startGroup(0);
    // 30 s of budget left after 10 s, and 5 runs of the minimum still owed at 4 s each: less
    // than every group at its maximum (17 runs at 4 s).
    expect(progress.etaMaxSeconds(10_000)).toBe(50);
  });
});
