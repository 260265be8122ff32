import type { ScenarioResult } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { decideRounds, type RoundsDecisionInput } from '../src/adaptive.ts';

/** A result whose ratio to nginx has the given interval and confidence. */
function withRatio(id: string, ratio: number, halfWidth: number, confidence = 0.96): ScenarioResult {
  return {
    id,
    baseline: false,
    summary: {
      validRepetitions: 9,
      ratioToBaseline: {
        baseline: 'nginx',
        ratio,
        ciLow: ratio * (1 - halfWidth),
        ciHigh: ratio * (1 + halfWidth),
        confidence,
        confidenceTarget: 0.95,
        statistic: 'median-of-paired-ratios',
        paired: true,
        n: 9,
      },
    },
  } as unknown as ScenarioResult;
}
const nginx = { id: 'nginx', baseline: true, summary: { validRepetitions: 9 } } as unknown as ScenarioResult;

const input = (overrides: Partial<RoundsDecisionInput>): RoundsDecisionInput => ({
  group: '40B',
  results: [withRatio('2a', 1.3, 0.08), withRatio('2b', 1.2, 0.03), nginx],
  roundsDone: 9,
  minRounds: 9,
  maxRounds: 30,
  targetHalfWidth: 0.05,
  confidenceTarget: 0.95,
  outOfTime: false,
  ...overrides,
});

describe('how many rounds a group runs', () => {
  it('stops a fixed run after its rounds', () => {
    expect(decideRounds(input({ targetHalfWidth: null, roundsDone: 9 }))).toMatchObject({
      stop: true,
      stoppedBy: 'fixed',
    });
  });

  it('adds rounds while the widest ratio interval is wider than the target, and names it', () => {
    const d = decideRounds(input({}));
    expect(d).toMatchObject({ stop: false, worstResult: '2a' });
    expect(d.worstHalfWidth).toBeCloseTo(0.08, 12);
  });

  it('stops once every ratio is within the target at the confidence asked', () => {
    const tight = [withRatio('2a', 1.3, 0.04), withRatio('2b', 1.2, 0.03), nginx];
    expect(decideRounds(input({ results: tight }))).toMatchObject({
      stop: true,
      stoppedBy: 'target-reached',
    });
    // Tight but short of 95% (too few rounds): not done.
    const short = [withRatio('2a', 1.3, 0.01, 0.75), nginx];
    expect(decideRounds(input({ results: short })).stop).toBe(false);
  });

  it('stops at the most rounds, or when the budget cannot hold another round', () => {
    expect(decideRounds(input({ roundsDone: 30 }))).toMatchObject({
      stop: true,
      stoppedBy: 'max-repetitions',
    });
    expect(decideRounds(input({ outOfTime: true }))).toMatchObject({ stop: true, stoppedBy: 'time-budget' });
  });

  it('always runs the minimum: the budget bounds only the rounds beyond it', () => {
    expect(decideRounds(input({ roundsDone: 4, outOfTime: true })).stop).toBe(false);
  });

  it('leaves out results with nothing valid, which can never converge', () => {
    const dead = {
      id: 'dead',
      baseline: false,
      summary: { validRepetitions: 0, ratioToBaseline: null },
    } as unknown as ScenarioResult;
    const tight = [withRatio('2b', 1.2, 0.03), dead, nginx];
    expect(decideRounds(input({ results: tight }))).toMatchObject({
      stop: true,
      stoppedBy: 'target-reached',
    });
  });
});
