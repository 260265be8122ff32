import {
  busiestTool,
  type CalibrationChoice,
  type CalibrationCost,
  type CalibrationGroup,
  type CalibrationSetting,
  calibrationText,
  chooseCalibration,
  costsText,
  type PlanGroup,
  type Profile,
  type Repetition,
  serverQuotaFor,
  toolCoresFor,
} from '@scaleup/core';
import { execa } from 'execa';
import { CpuQuotaGroup, findCgroupLayout } from '../cgroup.ts';
import type { RunContext } from './context.ts';
import type { RunPlan } from './plan.ts';
import type { RunningServers } from './start.ts';
import { warmUpGroup } from './warm.ts';

/**
 * Calibration keeps the load tool from being what a figure measures: after a group's warm-up,
 * whose last run per point is measured like a repetition, either the tool's share of the CPUs
 * is sized from what a response costs it against the servers (tool-cores), or every server of
 * the group runs under one cgroup quota that leaves the tool 20% headroom (server-quota). Then
 * one more warm-up run per point says what headroom the choice reached.
 */

export interface OpenedCalibration {
  choice: CalibrationChoice;
  quotaGroup: CpuQuotaGroup | null;
}

/** Why the servers cannot be given a quota here, or null when they can. */
function quotaUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root (a cgroup CPU quota needs root)';
  const layout = findCgroupLayout();
  return layout.version === null ? layout.reason : null;
}

function settingOf(run: RunPlan, otherHosts: boolean): CalibrationSetting {
  const { profile, plan } = run;
  const splits = new Set(
    plan.groups.flatMap((g) => g.instances.map((i) => i.point.serverCpus?.join(',') ?? 'any')),
  );
  return {
    calibrate: profile.calibrate === true,
    explicitQuotaCores: profile.serverCpuQuotaCores ?? null,
    otherHosts,
    pinning: profile.pinning,
    cpus: run.allCpus.length,
    sweptSplit: profile.serverCpus !== undefined || splits.size > 1,
    // Asked only where it can matter: a quota group is made for server-quota alone.
    quotaUnavailable: null,
  };
}

/**
 * The run's calibration method and the quota group it needs: the profile's own quota as before
 * (its failure stops the run), or an uncapped group for server-quota; when that group cannot be
 * made the run goes on uncalibrated, and the choice carries the one warning that says so.
 */
export async function openCalibration(run: RunPlan, otherHosts: boolean): Promise<OpenedCalibration> {
  const profile: Profile = run.profile;
  const setting = settingOf(run, otherHosts);
  if (profile.serverCpuQuotaCores !== undefined) {
    return {
      choice: chooseCalibration(setting),
      quotaGroup: await CpuQuotaGroup.create(profile.serverCpuQuotaCores),
    };
  }
  const choice = chooseCalibration(setting);
  if (choice.method !== 'server-quota') return { choice, quotaGroup: null };
  const unavailable = quotaUnavailable();
  if (unavailable !== null) {
    return { choice: chooseCalibration({ ...setting, quotaUnavailable: unavailable }), quotaGroup: null };
  }
  try {
    return { choice, quotaGroup: await CpuQuotaGroup.create(null) };
  } catch (error) {
    return {
      choice: chooseCalibration({ ...setting, quotaUnavailable: (error as Error).message }),
      quotaGroup: null,
    };
  }
}

/** The group's warm-up, then its calibration when the run calibrates. */
export async function warmUpAndCalibrate(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
): Promise<void> {
  const { method } = context.calibration;
  if (method !== 'server-quota' && method !== 'tool-cores') {
    await warmUpGroup(context, group, running);
    return;
  }
  // Each group is measured as the plan made it first: no quota, the even split.
  await context.quotaGroup?.setQuota(null);
  context.calibration.loadCpus = null;
  context.calibration.serverCpus = null;
  const runs = Math.max(1, context.options.profile.warmupRuns);
  const before = await warmUpGroup(context, group, running, { runs, sample: true });
  const costs = costsOf(group, before);
  const applied =
    method === 'server-quota'
      ? await applyQuota(context, group, costs, before)
      : await applyToolCores(context, group, running, costs);
  const after = applied.changed
    ? await warmUpGroup(context, group, running, { runs: 1, sample: true })
    : before;
  const busyAfter = busiestTool(costsOf(group, after));
  const record: CalibrationGroup = {
    group: group.key,
    costs,
    toolBusyFraction: busiestTool(costs),
    serverQuotaCores: applied.quotaCores,
    toolCpus: applied.toolCpus,
    headroomFraction: busyAfter === null ? null : 1 - busyAfter,
    decision: '',
  };
  record.decision = decisionLine(record, applied.why);
  recordCalibration(context, record);
  context.options.onEvent({ type: 'calibration', group: group.key, decision: record.decision });
  await context.store.save();
}

/** What each side spent per response in the sampled warm-up run of each point. */
function costsOf(group: PlanGroup, sampled: Map<string, Repetition>): CalibrationCost[] {
  return group.instances.flatMap((instance) => {
    const rep = sampled.get(instance.id);
    if (rep === undefined) return [];
    return [
      {
        resultId: instance.id,
        serverCpuMicrosPerResponse: rep.cost?.serverCpuMicrosPerResponse ?? null,
        toolCpuMicrosPerResponse: rep.cost?.toolCpuMicrosPerResponse ?? null,
        toolBusyFraction: rep.load.toolCpu?.utilisation ?? null,
      },
    ];
  });
}

interface Applied {
  changed: boolean;
  quotaCores: number | null;
  toolCpus: number[] | null;
  why: string;
}

/** One quota for every server of the group, from its warm-up costs. */
async function applyQuota(
  context: RunContext,
  group: PlanGroup,
  costs: CalibrationCost[],
  sampled: Map<string, Repetition>,
): Promise<Applied> {
  const toolCores = Math.max(1, ...[...sampled.values()].map((r) => r.load.toolCpu?.cores ?? 1));
  const serverCores = Math.max(
    ...group.instances.map((i) => i.point.serverCpus?.length ?? context.run.serverCores),
  );
  const { quotaCores, why } = serverQuotaFor(costs, toolCores, serverCores);
  if (quotaCores !== null) await context.quotaGroup?.setQuota(quotaCores);
  return { changed: quotaCores !== null, quotaCores, toolCpus: null, why };
}

/**
 * The tool's share of the group's CPUs from its warm-up costs: the servers (already running,
 * pinned to the plan's half) are moved to the rest, the tool runs a thread on each of its CPUs.
 */
async function applyToolCores(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
  costs: CalibrationCost[],
): Promise<Applied> {
  const point = group.instances[0]?.point;
  const cpus = [...(point?.serverCpus ?? []), ...(point?.loadCpus ?? [])].sort((a, b) => a - b);
  const { toolCores, why } = toolCoresFor(costs, cpus.length);
  const serverCpus = cpus.slice(0, cpus.length - toolCores);
  const loadCpus = cpus.slice(cpus.length - toolCores);
  if (cpus.length < 2 || loadCpus.join(',') === point?.loadCpus?.join(',')) {
    return { changed: false, quotaCores: null, toolCpus: point?.loadCpus ?? null, why };
  }
  for (const server of running.values()) {
    for (const p of await server.processes()) {
      // All threads of every process; a worker forked later inherits its master's mask.
      await execa('taskset', ['-a', '-p', '-c', serverCpus.join(','), String(p.pid)], { reject: false });
    }
  }
  context.calibration.loadCpus = loadCpus;
  context.calibration.serverCpus = serverCpus;
  for (const instance of group.instances) {
    const result = context.store.result(instance.id);
    result.point = { ...result.point, serverCpus, loadCpus };
  }
  return { changed: true, quotaCores: null, toolCpus: loadCpus, why };
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

/** The CLI's line for a group: the choice, why, the costs it came from, the headroom reached. */
function decisionLine(record: CalibrationGroup, why: string): string {
  const choice =
    record.serverQuotaCores !== null
      ? `servers capped at ${record.serverQuotaCores} CPU`
      : record.toolCpus !== null
        ? `load tool on CPU ${record.toolCpus.join(',')} (${record.toolCpus.length} thread${record.toolCpus.length === 1 ? '' : 's'})`
        : 'no change';
  const headroom =
    record.headroomFraction === null
      ? 'headroom not measured'
      : `tool headroom ${percent(Math.max(0, record.headroomFraction))}`;
  return `${record.group}: ${choice}: ${why}; ${headroom} (µs per response: ${costsText(record.costs)})`;
}

/** The group's record in results.json, and the topology's line and quota saying what was decided. */
function recordCalibration(context: RunContext, record: CalibrationGroup): void {
  const topology = context.store.results.topology;
  const calibration = topology.calibration;
  if (calibration === null) return;
  calibration.groups.push(record);
  topology.description = `${context.calibration.description}; ${calibrationText(calibration)}`;
  // One quota for the whole run is the run's quota, as a profile's would be; otherwise per group.
  const quotas = new Set(calibration.groups.map((g) => g.serverQuotaCores));
  const [only] = [...quotas];
  topology.serverCpuQuotaCores = quotas.size === 1 && only !== undefined ? only : null;
}
