import type { PlanGroup } from '@scaleup/core';
import { BenchInterrupted } from '../ports.ts';
import { warmUpAndCalibrate } from './calibrate.ts';
import type { RunContext } from './context.ts';
import { profileGroup } from './profile.ts';
import { resolveRates } from './rates.ts';
import { measureRounds } from './rounds.ts';
import { type RunningServers, startGroup } from './start.ts';

/**
 * One payload group: its servers started and verified, warmed up (and calibrated), rate steps
 * resolved from the warm-up (bench --rates), measured in interleaved rounds
 * until the plan says stop, and stopped, whatever happened.
 */
export async function runGroup(
  context: RunContext,
  group: PlanGroup,
  remainingGroups: readonly PlanGroup[],
): Promise<void> {
  const running: RunningServers = new Map();
  let roundsDone = 0;
  try {
    await startGroup(context, group, running);
    await warmUpAndCalibrate(context, group, running);
    await resolveRates(context, group);
    await measureRounds(context, group, running, remainingGroups, (round) => {
      roundsDone = round;
    });
    await profileGroup(context, group, running);
  } catch (error) {
    if (error instanceof BenchInterrupted) {
      context.store.results.stopping.push({
        group: group.key,
        rounds: roundsDone,
        stoppedBy: 'interrupted',
        worstHalfWidth: null,
        worstResult: null,
      });
    }
    throw error;
  } finally {
    await stopGroup(running);
  }
}

/** Every server of the group, stopped together; one that fails to stop does not keep the others up. */
async function stopGroup(running: RunningServers): Promise<void> {
  await Promise.allSettled([...running.values()].map((s) => s.stop()));
}
