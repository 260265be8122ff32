import { join } from 'node:path';
import type { LoadSpec, PlanGroup, PlannedInstance, ScenarioProfile } from '@scaleup/core';
import type { ProfileWindow, RecordedProfile } from '@scaleup/driver';
import { type Profiler, startWindow, storeProfile } from '../cpu-profile.ts';
import { fileSafe } from '../load-spec.ts';
import { BenchInterrupted, checkAbort, type LoadToolPort } from '../ports.ts';
import type { ServerUnderTest } from '../servers.ts';
import type { RunContext } from './context.ts';
import { windowBoundSeconds } from './measure.ts';
import { quotaBeforeRun } from './quota.ts';
import { measuredLoad } from './rates.ts';
import type { RunningServers } from './start.ts';

/**
 * --cpu-profile: after the group's measured rounds, one more load run per point, sampled with
 * perf. It is never a repetition: no statistic, verdict or ETA counts it, and perf's own cost
 * (a few percent at 999 Hz) stays out of the measured numbers.
 */
export async function profileGroup(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
): Promise<void> {
  const { profiler, store, options } = context;
  if (profiler === null) return;
  for (const instance of group.instances) {
    const server = running.get(instance.serverKey);
    const result = store.result(instance.id);
    if (server === undefined || result.skipped !== null) continue;
    checkAbort(options.signal);
    await quotaBeforeRun(context, instance);
    const outcome =
      profiler.perf === null
        ? { profile: null, problem: profiler.problem }
        : await profileInstance(context, profiler, instance, server);
    checkAbort(options.signal);
    result.profile = outcome.profile;
    result.profileProblem = outcome.problem;
    await store.save();
    options.onEvent({ type: 'profile', scenarioId: instance.id, ...outcome });
  }
}

interface Outcome {
  profile: ScenarioProfile | null;
  problem: string | null;
}

async function profileInstance(
  context: RunContext,
  profiler: Profiler & { perf: string },
  instance: PlannedInstance,
  server: ServerUnderTest,
): Promise<Outcome> {
  const load = measuredLoad(context, instance, server);
  const pids = (await server.processes()).map((p) => p.pid);
  if (pids.length === 0) return { profile: null, problem: 'no server process to profile was found' };
  try {
    const recorded = await recordDuringLoad(context, profiler, load, pids, instance.id);
    const profile = await storeProfile(
      context.options.outDir,
      instance.id,
      recorded.server,
      recorded.tool instanceof Error ? null : recorded.tool,
    );
    return { profile, problem: recorded.tool instanceof Error ? recorded.tool.message : null };
  } catch (error) {
    if (error instanceof BenchInterrupted || context.options.signal.aborted) throw error;
    return { profile: null, problem: (error as Error).message };
  }
}

/**
 * The server's processes sampled from before the load starts until it ends; with 'tool' the load
 * tool too, from its spawn. A tool profile that fails is its own error, not the server's.
 */
async function recordDuringLoad(
  context: RunContext,
  profiler: Profiler & { perf: string },
  load: { spec: LoadSpec; tool: LoadToolPort },
  pids: readonly number[],
  resultId: string,
): Promise<{ server: RecordedProfile; tool: RecordedProfile | Error | null }> {
  const { spec } = load;
  const bound = windowBoundSeconds(spec);
  const serverWindow = await startWindow(profiler.perf, pids, bound);
  let toolWindow: Promise<ProfileWindow> | null = null;
  const onSpawn = (pid: number) => {
    toolWindow = startWindow(profiler.perf, [pid], bound);
    // Looked at once the load is done; until then a refusal must not be an unhandled rejection.
    toolWindow.catch(() => undefined);
  };
  try {
    await load.tool.run(spec, {
      rawOutputPath: join(context.rawDir, `${fileSafe(resultId)}-profile.txt`),
      signal: context.options.signal,
      ...(profiler.mode === 'tool' ? { onSpawn } : {}),
    });
  } catch (error) {
    await serverWindow.cancel();
    await (toolWindow as Promise<ProfileWindow> | null)?.then(
      (w) => w.cancel(),
      () => undefined,
    );
    throw error;
  }
  // Both end now: a server recording that fails must not leave the tool's perf running.
  const [server, tool] = await Promise.all([
    serverWindow.stop().catch((error: Error) => error),
    toolProfile(profiler, toolWindow),
  ]);
  if (server instanceof Error) throw server;
  return { server, tool };
}

async function toolProfile(
  profiler: Profiler,
  window: Promise<ProfileWindow> | null,
): Promise<RecordedProfile | Error | null> {
  if (profiler.mode !== 'tool') return null;
  if (window === null) return new Error('load tool not profiled: it did not run on this machine');
  return window
    .then((w) => w.stop())
    .catch((error: Error) => new Error(`load tool not profiled: ${error.message}`));
}
