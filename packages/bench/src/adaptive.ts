import { type GroupStop, relativeHalfWidth, type ScenarioResult } from '@scaleup/core';

export interface RoundsDecisionInput {
  group: string;
  /** The group's results after the rounds so far. */
  results: readonly ScenarioResult[];
  roundsDone: number;
  minRounds: number;
  maxRounds: number;
  /** Adaptive target as a fraction (0.05 for ±5%); null for a fixed round count. */
  targetHalfWidth: number | null;
  confidenceTarget: number;
  /** Another round would not fit in the group's share of the time budget. */
  outOfTime: boolean;
}

export interface RoundsDecision extends GroupStop {
  stop: boolean;
}

/**
 * Whether a group needs another round. Fixed: after minRounds. Adaptive: once every ratio to the
 * baseline (or, in a group without one, every median) has an interval that reaches the
 * confidence target and is within ±target of its estimate; otherwise until maxRounds or the time
 * budget. Results with no valid repetition cannot converge and are left out, so they do not burn
 * the budget (the run reports them as problems anyway).
 */
export function decideRounds(input: RoundsDecisionInput): RoundsDecision {
  let worstHalfWidth: number | null = null;
  let worstResult: string | null = null;
  let allTight = true;
  const hasBaseline = input.results.some((r) => r.baseline);
  for (const r of input.results) {
    if (r.summary === null || r.summary.validRepetitions === 0) continue;
    if (hasBaseline && r.baseline) continue;
    const estimate = hasBaseline ? r.summary.ratioToBaseline : r.summary.requestsPerSecond;
    if (estimate === null) {
      if (hasBaseline) allTight = false;
      continue;
    }
    const centre = 'ratio' in estimate ? estimate.ratio : estimate.median;
    const halfWidth = relativeHalfWidth(estimate, centre);
    if (worstHalfWidth === null || halfWidth > worstHalfWidth) {
      worstHalfWidth = halfWidth;
      worstResult = r.id;
    }
    const tight =
      input.targetHalfWidth !== null &&
      halfWidth <= input.targetHalfWidth &&
      estimate.confidence >= input.confidenceTarget;
    if (!tight) allTight = false;
  }
  const base = {
    group: input.group,
    rounds: input.roundsDone,
    worstHalfWidth: worstHalfWidth !== null && Number.isFinite(worstHalfWidth) ? worstHalfWidth : null,
    worstResult,
  };
  // The minimum always runs: the budget bounds the rounds added beyond it.
  if (input.roundsDone < input.minRounds) return { ...base, stop: false, stoppedBy: 'fixed' };
  if (input.targetHalfWidth === null) return { ...base, stop: true, stoppedBy: 'fixed' };
  if (allTight) return { ...base, stop: true, stoppedBy: 'target-reached' };
  if (input.roundsDone >= input.maxRounds) return { ...base, stop: true, stoppedBy: 'max-repetitions' };
  if (input.outOfTime) return { ...base, stop: true, stoppedBy: 'time-budget' };
  return { ...base, stop: false, stoppedBy: 'fixed' };
}
