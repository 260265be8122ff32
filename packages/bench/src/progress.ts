import { maximumRuns, type Plan, plannedRuns } from '@scaleup/core';
import type { TimeBudget } from './budget.ts';
import { estimateRemainingSeconds } from './eta.ts';

/** How far a run is: runs started and finished, the time they took, and the runs still expected. */
export class RunProgress {
  #index = 0;
  #finished = 0;
  #elapsedInRuns = 0;
  #expectedRuns: number;

  constructor(
    private readonly plan: Plan,
    private readonly plannedSecondsPerRun: number | null,
    private readonly budget: TimeBudget | null,
  ) {
    this.#expectedRuns = plannedRuns(plan);
  }

  /** The measured runs the plan makes, as the rounds decided so far stand. */
  get expectedRuns(): number {
    return this.#expectedRuns;
  }

  /** A run starts; its number. */
  start(): number {
    this.#index += 1;
    return this.#index;
  }

  finish(seconds: number): void {
    this.#finished += 1;
    this.#elapsedInRuns += seconds;
  }

  /** Another round of a group: the runs still expected grow by its points. */
  addRound(points: number): void {
    this.#expectedRuns += points;
  }

  /** Time left if every group stops at the rounds planned so far. */
  etaSeconds(): number | null {
    return estimateRemainingSeconds({
      remainingRuns: this.#expectedRuns - this.#index,
      finishedRuns: this.#finished,
      elapsedInRunsSeconds: this.#elapsedInRuns,
      plannedSecondsPerRun: this.plannedSecondsPerRun,
    });
  }

  /** The most the rest of an adaptive run can take: every group at its maximum, within the budget. */
  etaMaxSeconds(now: number): number | null {
    if (this.plan.adaptive === null) return null;
    const atMost = estimateRemainingSeconds({
      remainingRuns: Math.max(0, maximumRuns(this.plan) - this.#index),
      finishedRuns: this.#finished,
      elapsedInRunsSeconds: this.#elapsedInRuns,
      plannedSecondsPerRun: this.plannedSecondsPerRun,
    });
    if (this.budget === null) return atMost;
    const budgetLeft = this.budget.leftSeconds(now);
    // The budget bounds the rounds beyond the minimum; those still owed come on top.
    const owed =
      Math.max(0, plannedRuns(this.plan) - this.#index) *
      (this.#finished > 0 ? this.#elapsedInRuns / this.#finished : 0);
    return atMost === null ? budgetLeft + owed : Math.min(atMost, budgetLeft + owed);
  }
}
