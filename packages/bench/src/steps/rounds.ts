import { join } from 'node:path';
import { type PlanGroup, type PlannedInstance, roundOf } from '@scaleup/core';
import { decideRounds } from '../adaptive.ts';
import { fileSafe } from '../load-spec.ts';
import { checkAbort } from '../ports.ts';
import type { ServerUnderTest } from '../servers.ts';
import { followQuota } from './calibrate.ts';
import type { RunContext } from './context.ts';
import { measureRepetition } from './measure.ts';
import { quotaBeforeRun } from './quota.ts';
import { measuredLoad } from './rates.ts';
import type { RunningServers } from './start.ts';
import { serverCoresOf } from './warm.ts';

/**
 * Rounds of the group (A B C, A B C, ...): each measures every running point once, saves, and
 * then the group judges whether it needs another (the minimum always; adaptive: until the
 * intervals are tight, the maximum or the group's share of the time budget). How the group
 * stopped is recorded in the results; `onRound` hears of every round done.
 */
export async function measureRounds(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
  remainingGroups: readonly PlanGroup[],
  onRound: (round: number) => void,
): Promise<void> {
  const { options, store, run, budget } = context;
  const { min: minRounds, max: maxRounds } = run.plan.rounds;
  const target = run.plan.adaptive === null ? null : run.plan.adaptive.targetCiPercent / 100;
  const groupBudget = budget === null ? null : budget.shareOf(group, remainingGroups);
  const roundsStarted = Date.now();
  budget?.startGroup(roundsStarted);
  for (let round = 0; ; ) {
    const roundStarted = Date.now();
    for (const planned of roundOf(group, round)) {
      const server = running.get(planned.instance.serverKey);
      if (server === undefined || store.result(planned.instanceId).skipped !== null) continue;
      await quotaBeforeRun(context, planned.instance);
      await measureInstance(context, planned.instance, server, round, Math.max(minRounds, round + 1));
    }
    round += 1;
    onRound(round);
    const lastRoundSeconds = (Date.now() - roundStarted) / 1000;
    const { stop, ...stopRecord } = decideRounds({
      group: group.key,
      results: group.instances.map((i) => store.result(i.id)),
      roundsDone: round,
      minRounds,
      maxRounds,
      targetHalfWidth: target,
      confidenceTarget: run.plan.adaptive === null ? 0 : store.results.plan.confidenceTarget,
      outOfTime: groupBudget !== null && (Date.now() - roundsStarted) / 1000 + lastRoundSeconds > groupBudget,
    });
    if (round >= minRounds && target !== null) {
      options.onEvent({ type: 'rounds', stop: stopRecord, target, more: !stop });
    }
    if (stop) {
      store.results.stopping.push(stopRecord);
      await store.save();
      budget?.endGroup(Date.now());
      return;
    }
    // The next round runs under a lower quota when the tool saturated again in this one.
    await followQuota(context, group, round);
    // Another round: the runs still expected grow by one round of this group.
    if (round >= minRounds) {
      context.progress.addRound(group.instances.filter((i) => store.result(i.id).skipped === null).length);
    }
  }
}

/** One repetition of one point: measured, judged, recorded, saved, reported. */
async function measureInstance(
  context: RunContext,
  instance: PlannedInstance,
  server: ServerUnderTest,
  round: number,
  rounds: number,
): Promise<void> {
  const { options, store, progress } = context;
  checkAbort(options.signal);
  const index = progress.start();
  const result = store.result(instance.id);
  options.onEvent({
    type: 'rep-start',
    index,
    runs: progress.expectedRuns,
    scenarioId: instance.id,
    round,
    rounds,
  });
  const started = Date.now();
  const { spec, tool } = measuredLoad(context, instance, server);
  const repetition = await measureRepetition({
    server,
    payloadBytes: instance.scenario.payloadBytes,
    responseForms: result.verification?.responseForms ?? [],
    closeAfterRequests: result.verification?.closeAfterRequests ?? null,
    round,
    spec,
    tool,
    rawOutputPath: join(context.rawDir, `${fileSafe(instance.id)}-r${round + 1}.txt`),
    // Under a quota the servers' budget is the quota, and busy is measured against it.
    serverCores: serverCoresOf(context, instance),
    signal: options.signal,
    now: context.now,
    onProgress: (p) => options.onEvent({ type: 'rep-progress', scenarioId: instance.id, round, progress: p }),
    syscalls: context.syscalls,
  });
  checkAbort(options.signal);
  result.repetitions.push(repetition);
  progress.finish((Date.now() - started) / 1000);
  store.refresh();
  await store.save();
  options.onEvent({
    type: 'rep-done',
    index,
    runs: progress.expectedRuns,
    scenarioId: instance.id,
    round,
    rounds,
    repetition,
    etaSeconds: progress.etaSeconds(),
    etaMaxSeconds: progress.etaMaxSeconds(Date.now()),
  });
}
