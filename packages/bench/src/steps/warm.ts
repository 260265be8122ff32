import { join } from 'node:path';
import {
  type LoadSpec,
  type PlanGroup,
  type PlannedInstance,
  type Repetition,
  warmupKeyOf,
} from '@scaleup/core';
import { fileSafe, loadSpecFor } from '../load-spec.ts';
import { checkAbort } from '../ports.ts';
import type { ServerUnderTest } from '../servers.ts';
import type { RunContext } from './context.ts';
import { measureRepetition } from './measure.ts';
import { quotaBeforeRun } from './quota.ts';
import type { RunningServers } from './start.ts';

/** The load input of one point on its running server, on the tool CPUs a calibration chose. */
export function specInput(context: RunContext, instance: PlannedInstance, server: ServerUnderTest) {
  const calibrated = context.calibration.loadCpus;
  return {
    url: server.url,
    payloadBytes: instance.scenario.payloadBytes,
    connections: instance.point.connections,
    cpus: calibrated ?? instance.point.loadCpus ?? undefined,
    // A tool sized to its CPUs runs a thread on each.
    ...(calibrated === null ? {} : { threads: calibrated.length }),
    allowedTargets: context.run.allowedTargets,
  };
}

/** The cores the servers of a point have: their quota, the CPUs a calibration gave them, or the plan's. */
export function serverCoresOf(context: RunContext, instance: PlannedInstance): number {
  return (
    context.quotaGroup?.quotaCores ??
    context.calibration.serverCpus?.length ??
    instance.point.serverCpus?.length ??
    context.run.serverCores
  );
}

/**
 * Warm-up after every server of the group is up, so the first measured round finds all warm.
 * With `sample`, the last run of each point is measured like a repetition (what each side spent
 * per response, how busy the tool was): what a calibration decides from.
 */
export async function warmUpGroup(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
  how: { runs: number; sample: boolean } = { runs: context.options.profile.warmupRuns, sample: false },
): Promise<Map<string, Repetition>> {
  const sampled = new Map<string, Repetition>();
  const warmed = new Set<string>();
  for (const instance of group.instances) {
    const server = running.get(instance.serverKey);
    if (server === undefined) continue;
    const result = context.store.result(instance.id);
    if (result.skipped !== null) continue;
    // The rate steps of one server share its warm-up: one capacity is what their shares are of.
    if (warmed.has(warmupKeyOf(instance))) continue;
    warmed.add(warmupKeyOf(instance));
    await quotaBeforeRun(context, instance);
    result.warmup ??= { runs: 0, requestsPerSecond: [] };
    for (let run = 0; run < how.runs; run++) {
      checkAbort(context.options.signal);
      const rawOutputPath = join(
        context.rawDir,
        `${fileSafe(instance.id)}-warmup${result.warmup.runs + 1}.txt`,
      );
      const spec = loadSpecFor(context.options.profile, specInput(context, instance, server), true);
      let requestsPerSecond: number;
      if (how.sample && run === how.runs - 1) {
        const repetition = await sampledRun(context, instance, server, spec, rawOutputPath);
        sampled.set(instance.id, repetition);
        requestsPerSecond = repetition.load.requestsPerSecond;
      } else {
        const load = await context.run.tool.run(spec, { rawOutputPath, signal: context.options.signal });
        requestsPerSecond = load.requestsPerSecond;
      }
      checkAbort(context.options.signal);
      result.warmup.runs += 1;
      result.warmup.requestsPerSecond.push(requestsPerSecond);
      context.options.onEvent({
        type: 'warmup',
        scenarioId: instance.id,
        run: result.warmup.runs,
        requestsPerSecond,
      });
    }
    await context.store.save();
  }
  return sampled;
}

/** A warm-up run measured as a repetition is (never recorded as one). */
function sampledRun(
  context: RunContext,
  instance: PlannedInstance,
  server: ServerUnderTest,
  spec: LoadSpec,
  rawOutputPath: string,
): Promise<Repetition> {
  const verification = context.store.result(instance.id).verification;
  return measureRepetition({
    server,
    payloadBytes: instance.scenario.payloadBytes,
    responseForms: verification?.responseForms ?? [],
    closeAfterRequests: verification?.closeAfterRequests ?? null,
    round: 0,
    spec,
    tool: context.run.tool,
    rawOutputPath,
    serverCores: serverCoresOf(context, instance),
    signal: context.options.signal,
    now: context.now,
    onProgress: () => {},
    syscalls: null,
  });
}
