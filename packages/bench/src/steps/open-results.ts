import { mkdir } from 'node:fs/promises';
import { type CalibrationMethod, maximumRuns, plannedRuns } from '@scaleup/core';
import type { CpuQuotaGroup } from '../cgroup.ts';
import { collectEnvironment } from '../environment.ts';
import type { BenchOptions } from '../ports.ts';
import { resultsSkeleton } from '../results-skeleton.ts';
import { ResultsStore } from '../store.ts';
import { checkTuningFor } from '../tuning.ts';
import { openingWarnings } from '../warnings.ts';
import { openCalibration } from './calibrate.ts';
import type { RunPlan } from './plan.ts';
import type { PreparedHosts } from './prepare-hosts.ts';

export interface OpenedResults {
  store: ResultsStore;
  quotaGroup: CpuQuotaGroup | null;
  calibration: CalibrationMethod;
}

/**
 * The first results.json: this machine and every host, the plan, one result per point and what
 * the run warns of before it measures; then the plan is announced. The cgroup quota comes first:
 * without root or a cpu controller the run cannot be what the profile asks for, and nothing
 * should be written then (an empty group a crash leaves behind costs nothing). A calibration
 * that cannot have its quota group runs uncalibrated instead, and warns once.
 */
export async function openResults(
  options: BenchOptions,
  run: RunPlan,
  prepared: PreparedHosts | null,
  dirs: { rawDir: string; logDir: string },
  now: () => Date,
): Promise<OpenedResults> {
  const { profile, plan } = run;
  const { choice, quotaGroup } = await openCalibration(run, prepared !== null);
  await mkdir(dirs.rawDir, { recursive: true });
  await mkdir(dirs.logDir, { recursive: true });
  const environment = await collectEnvironment({
    nginx: run.nginxInfo,
    tools: run.tools,
    repoDir: options.repoDir,
  });
  const tuning = checkTuningFor(environment, profile);
  const hosts = prepared?.environments ?? [];
  const results = resultsSkeleton({
    options,
    profile,
    plan,
    // A rate sweep is measured with the constant-rate tool; warm-up used the closed-loop one.
    tool: run.rateTool?.name ?? run.toolName,
    topology: run.topology,
    environment,
    hosts,
    loadHosts: prepared?.load?.map((l) => l.host.name) ?? ['local'],
    tuning,
    warnings: openingWarnings({
      toolWarnings: run.toolWarnings,
      tuning,
      hosts,
      profile,
      plan,
      cpus: run.allCpus,
    }),
    startedAt: now(),
  });
  results.topology.calibration = { method: choice.method, reason: choice.reason, groups: [] };
  // Said once for the run, not per group.
  if (choice.warning !== null) results.warnings.push(choice.warning);
  const store = new ResultsStore(results, options.outDir, (message) =>
    options.onEvent({ type: 'warning', message }),
  );
  for (const message of results.warnings) options.onEvent({ type: 'warning', message });
  for (const skipped of plan.skipped) {
    options.onEvent({ type: 'scenario-skipped', scenarioId: skipped.id, reason: skipped.reason });
  }
  await store.save();
  options.onEvent({
    type: 'plan',
    runs: plannedRuns(plan),
    maxRuns: maximumRuns(plan),
    tool: run.rateTool?.name ?? run.toolName,
    warmupTool: run.rateTool === null ? null : run.toolName,
    topology: run.topology,
    outDir: options.outDir,
    points: plan.groups.reduce((sum, g) => sum + g.instances.length, 0),
  });
  return { store, quotaGroup, calibration: choice.method };
}
