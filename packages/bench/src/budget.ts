import type { PlanGroup } from '@scaleup/core';

/**
 * The profile's time budget for measured rounds beyond the minimum (start-up and warm-up are not
 * counted), shared among the groups still to run by their number of points.
 */
export class TimeBudget {
  #spentSeconds = 0;
  #groupStartedAt: number | null = null;

  constructor(readonly totalSeconds: number) {}

  /** The budget left, in seconds, for this group: its share by points of the groups still to run. */
  shareOf(group: PlanGroup, remainingGroups: readonly PlanGroup[]): number {
    const total = remainingGroups.reduce((sum, g) => sum + g.instances.length, 0);
    const left = Math.max(0, this.totalSeconds - this.#spentSeconds);
    return (left * group.instances.length) / Math.max(1, total);
  }

  /** A group's measured rounds begin (at `now`, in ms). */
  startGroup(now: number): void {
    this.#groupStartedAt = now;
  }

  /** A group's rounds have ended: what they took is spent. */
  endGroup(now: number): void {
    if (this.#groupStartedAt !== null) this.#spentSeconds += (now - this.#groupStartedAt) / 1000;
    this.#groupStartedAt = null;
  }

  /** What is left now, counting the current group's rounds so far. */
  leftSeconds(now: number): number {
    const inGroup = this.#groupStartedAt === null ? 0 : (now - this.#groupStartedAt) / 1000;
    return Math.max(0, this.totalSeconds - this.#spentSeconds - inGroup);
  }
}
