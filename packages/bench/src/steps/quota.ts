import type { PlannedInstance } from '@scaleup/core';
import type { RunContext } from './context.ts';

/**
 * Before a run of `instance` (warm-up or measured), the quota calibrated for its sweep point on
 * the servers' group; nothing when the run has no per-point quota or it is already in force.
 */
export async function quotaBeforeRun(context: RunContext, instance: PlannedInstance): Promise<void> {
  const quotaGroup = context.quotaGroup;
  if (quotaGroup === null || context.calibration.method !== 'server-quota') return;
  const quota = context.calibration.quotas.get(instance.id);
  if (quota !== undefined && quota !== quotaGroup.quotaCores) await quotaGroup.setQuota(quota);
}
