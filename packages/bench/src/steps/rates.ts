import {
  type LoadSpec,
  type PlanGroup,
  type PlannedInstance,
  type ResolvedRate,
  resolveGroupRates,
  warmupKeyOf,
  withoutRateStep,
} from '@scaleup/core';
import { loadSpecFor } from '../load-spec.ts';
import type { LoadToolPort } from '../ports.ts';
import type { ServerUnderTest } from '../servers.ts';
import type { RunContext } from './context.ts';
import { specInput } from './warm.ts';

/**
 * A rate sweep (bench --rates) after the group's warm-up: each share of capacity becomes an
 * absolute rate from its own server's closed-loop capacity, the last warm-up run's succeeded
 * responses per second (after a calibration, under its quota or CPU split, since that run is
 * measured with them). A point whose rate cannot be known is skipped with the reason.
 */
export async function resolveRates(context: RunContext, group: PlanGroup): Promise<void> {
  if (context.run.plan.rates === null) return;
  const { store, options } = context;
  const warmedBy = new Map<string, PlannedInstance>();
  for (const instance of group.instances) {
    const key = warmupKeyOf(instance);
    if (!warmedBy.has(key) && store.result(instance.id).warmup !== null) warmedBy.set(key, instance);
  }
  const capacityOf = (key: string): number | null => {
    const warmed = warmedBy.get(key);
    return warmed === undefined ? null : (store.result(warmed.id).warmup?.requestsPerSecond.at(-1) ?? null);
  };
  const resolved = resolveGroupRates(group, capacityOf);
  for (const rate of resolved) {
    const result = store.result(rate.instanceId);
    if (result.skipped !== null) continue;
    const instance = group.instances.find((i) => i.id === rate.instanceId)!;
    const warmed = warmedBy.get(warmupKeyOf(instance));
    // Each step shows the warm-up its share was taken from.
    if (warmed !== undefined && warmed.id !== instance.id) {
      result.warmup = structuredClone(store.result(warmed.id).warmup);
    }
    if (rate.offeredPerSecond === null) {
      result.skipped = `rate ${rate.rateStep}: ${rate.problem}`;
      options.onEvent({ type: 'scenario-skipped', scenarioId: rate.instanceId, reason: result.skipped });
      continue;
    }
    result.point = { ...result.point, offeredRate: rate.offeredPerSecond };
  }
  for (const line of rateLines(group, resolved)) options.onEvent({ type: 'rates', ...line });
  await store.save();
}

/** One line per server and connection count: its capacity and the rate of each step. */
function rateLines(group: PlanGroup, resolved: readonly ResolvedRate[]) {
  const byKey = new Map<
    string,
    { server: string; capacityPerSecond: number | null; steps: ResolvedRate[] }
  >();
  for (const rate of resolved) {
    const instance = group.instances.find((i) => i.id === rate.instanceId)!;
    const key = warmupKeyOf(instance);
    const line = byKey.get(key) ?? {
      server: withoutRateStep(instance.id),
      capacityPerSecond: rate.capacityPerSecond,
      steps: [],
    };
    line.steps.push(rate);
    byKey.set(key, line);
  }
  return [...byKey.values()].map((line) => ({
    server: line.server,
    capacityPerSecond: line.capacityPerSecond,
    steps: line.steps.map((s) => ({ rateStep: s.rateStep, offeredPerSecond: s.offeredPerSecond })),
  }));
}

/**
 * The measured load of one point: closed loop with the run's tool, or, at a rate point, the
 * constant-rate tool at the point's resolved rate (its connections the lower bound).
 */
export function measuredLoad(
  context: RunContext,
  instance: PlannedInstance,
  server: ServerUnderTest,
): { spec: LoadSpec; tool: LoadToolPort } {
  const input = specInput(context, instance, server);
  if (instance.point.rateStep === null) {
    return { spec: loadSpecFor(context.options.profile, input, false), tool: context.run.tool };
  }
  const offered = context.store.result(instance.id).point.offeredRate;
  const tool = context.run.rateTool;
  if (offered === null || tool === null) {
    // resolveRates skips what it cannot resolve; reaching here is a bug, not bad input.
    throw new Error(`${instance.id}: a rate point measured before its rate was resolved`);
  }
  return { spec: loadSpecFor(context.options.profile, { ...input, ratePerSecond: offered }, false), tool };
}
