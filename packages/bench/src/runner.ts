import { join } from 'node:path';
import { type ResultsFile, UsageError } from '@scaleup/core';
import { TimeBudget } from './budget.ts';
import { openProfiler, type Profiler } from './cpu-profile.ts';
import type { BenchOptions, RunnerDeps } from './ports.ts';
import { RunProgress } from './progress.ts';
import { SyscallCounter } from './server-cost.ts';
import type { RunContext } from './steps/context.ts';
import { finishRun, recordEnd } from './steps/finish.ts';
import { runGroup } from './steps/group.ts';
import { openResults } from './steps/open-results.ts';
import { planRun } from './steps/plan.ts';
import { type PreparedHosts, prepareHosts } from './steps/prepare-hosts.ts';
import { peakConnections } from './tuning.ts';

/**
 * Runs the plan: per payload group, start every server of every point, verify it, warm each
 * point up, then measure round by round (A B C A B C ...), adding rounds while the intervals are
 * wider than the target when adaptive. results.json is rewritten after every repetition, so an
 * interruption loses nothing already measured.
 */
export async function runBench(options: BenchOptions, deps: RunnerDeps): Promise<ResultsFile> {
  const prepared = await prepareRemoteHosts(options);
  try {
    return await runPrepared(options, deps, prepared);
  } finally {
    // Stops whatever is still running on every host and closes the connections.
    await prepared?.close();
  }
}

/** Every host checked, all problems reported at once, before anything starts or is written. */
async function prepareRemoteHosts(options: BenchOptions): Promise<PreparedHosts | null> {
  const remote = options.remote;
  if (remote === undefined || (remote.loadHosts.length === 0 && remote.serverHost === null)) return null;
  if (remote.serverHost !== null && options.profile.serverCpuQuotaCores !== undefined) {
    throw new UsageError(
      '--server-quota caps servers on this machine with a cgroup; it cannot cap a --server-host',
    );
  }
  return prepareHosts({
    ...remote,
    connections: peakConnections(options.profile),
    needNginx: options.scenarios.some((s) => s.server.kind === 'nginx'),
    tool: options.tool,
  });
}

/** Asked before the first group: a run without perf says so once, at its start, and goes on. */
async function profilerFor(
  options: BenchOptions,
  deps: RunnerDeps,
  place: RunContext['run']['place'],
  store: { warn(message: string): void },
): Promise<Profiler | null> {
  if (options.cpuProfile === undefined) return null;
  const profiler = await openProfiler(options.cpuProfile, place, deps.detectPerf);
  if (profiler.problem !== null) store.warn(profiler.problem);
  return profiler;
}

async function runPrepared(
  options: BenchOptions,
  deps: RunnerDeps,
  prepared: PreparedHosts | null,
): Promise<ResultsFile> {
  const now = options.now ?? (() => new Date());
  const dirs = { rawDir: join(options.outDir, 'raw'), logDir: join(options.outDir, 'logs') };
  const run = await planRun(options, deps, prepared);
  const { store, quotaGroup, calibration } = await openResults(options, run, prepared, dirs, now);
  const timeBudget = run.plan.adaptive?.timeBudgetSeconds;
  const budget = timeBudget == null ? null : new TimeBudget(timeBudget);
  const context: RunContext = {
    options,
    deps,
    run,
    store,
    quotaGroup,
    ...dirs,
    progress: new RunProgress(run.plan, options.profile.durationSeconds ?? null, budget),
    budget,
    now,
    syscalls: new SyscallCounter(run.place.host, (message) => store.warn(message)),
    calibration: {
      method: calibration,
      description: run.topology.description,
      loadCpus: null,
      serverCpus: null,
      quotas: new Map(),
    },
    profiler: await profilerFor(options, deps, run.place, store),
  };
  try {
    for (const [index, group] of run.plan.groups.entries()) {
      await runGroup(context, group, run.plan.groups.slice(index));
    }
    await finishRun(store, now);
    return store.results;
  } catch (error) {
    await recordEnd(store, error, now);
    throw error;
  } finally {
    // Every server has been stopped by now, so the group is empty and can go.
    await quotaGroup
      ?.remove()
      .catch((error: Error) => options.onEvent({ type: 'warning', message: error.message }));
  }
}
