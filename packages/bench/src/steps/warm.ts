import { join } from 'node:path';
import type { PlanGroup, PlannedInstance } from '@scaleup/core';
import { fileSafe, loadSpecFor } from '../load-spec.ts';
import { checkAbort } from '../ports.ts';
import type { ServerUnderTest } from '../servers.ts';
import type { RunContext } from './context.ts';
import type { RunningServers } from './start.ts';

/** The load input of one point on its running server. */
export function specInput(context: RunContext, instance: PlannedInstance, server: ServerUnderTest) {
  return {
    url: server.url,
    payloadBytes: instance.scenario.payloadBytes,
    connections: instance.point.connections,
    cpus: instance.point.loadCpus ?? undefined,
    allowedTargets: context.run.allowedTargets,
  };
}

/** Warm-up after every server of the group is up, so the first measured round finds all warm. */
export async function warmUpGroup(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
): Promise<void> {
  const { options, store } = context;
  for (const instance of group.instances) {
    const server = running.get(instance.serverKey);
    if (server === undefined) continue;
    const result = store.result(instance.id);
    if (result.skipped !== null) continue;
    result.warmup = { runs: 0, requestsPerSecond: [] };
    for (let run = 0; run < options.profile.warmupRuns; run++) {
      checkAbort(options.signal);
      const spec = loadSpecFor(options.profile, specInput(context, instance, server), true);
      const load = await context.run.tool.run(spec, {
        rawOutputPath: join(context.rawDir, `${fileSafe(instance.id)}-warmup${run + 1}.txt`),
        signal: options.signal,
      });
      checkAbort(options.signal);
      result.warmup.runs += 1;
      result.warmup.requestsPerSecond.push(load.requestsPerSecond);
      options.onEvent({
        type: 'warmup',
        scenarioId: instance.id,
        run: run + 1,
        requestsPerSecond: load.requestsPerSecond,
      });
    }
    await store.save();
  }
}
