import {
  adjustQuota,
  busiestTool,
  type CalibrationChoice,
  type CalibrationCost,
  type CalibrationGroup,
  type CalibrationRecheck,
  type CalibrationSetting,
  calibrationText,
  chooseCalibration,
  costsText,
  MAX_EXTRA_RECHECKS,
  type PlanGroup,
  type PlannedInstance,
  type Profile,
  type Repetition,
  recheckQuota,
  serverQuotaFor,
  settledRecheck,
  toolBusyOf,
  toolCoresFor,
  withoutRateStep,
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
 * the group runs under one cgroup quota that leaves the tool 20% headroom (server-quota; the
 * only way unpinned, where both share every CPU). Then one more warm-up run per point says what
 * headroom the choice reached; under a quota that fell short, lowered and re-checked up to twice
 * more. During the rounds the quota follows the tool (followQuota).
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
  for (const instance of group.instances) context.calibration.quotas.delete(instance.id);
  const runs = Math.max(1, context.options.profile.warmupRuns);
  const before = await warmUpGroup(context, group, running, { runs, sample: true });
  // A CPU split is one for the whole group; a quota is chosen for each sweep point.
  const units = method === 'server-quota' ? calibrationUnits(group) : [group];
  for (const unit of units) {
    const costs = costsOf(context, unit, before);
    const applied =
      method === 'server-quota'
        ? await applyQuota(context, unit, running, costs, before)
        : await applyToolCores(context, unit, running, costs);
    await recordUnit(context, unit, costs, applied);
  }
}

/**
 * The parts of a group that get a quota of their own: its servers at one sweep point (workers,
 * connections, accept, CPUs; rate steps share their server's warm-up, so their point's). A group
 * of one point is one unit under the group's own key.
 */
export function calibrationUnits(group: PlanGroup): PlanGroup[] {
  const byUnit = new Map<string, PlannedInstance[]>();
  for (const instance of group.instances) {
    const key = unitKeyOf(group, instance);
    byUnit.set(key, [...(byUnit.get(key) ?? []), instance]);
  }
  return [...byUnit].map(([key, instances]) => ({ ...group, key, instances }));
}

/** "40B" for a group of one point, "40B c16" for the servers at 16 connections of a sweep. */
export function unitKeyOf(group: PlanGroup, instance: PlannedInstance): string {
  const point = withoutRateStep(instance.id).split('@')[1];
  return point === undefined || point === '' ? group.key : `${group.key} ${point}`;
}

/** A unit's quota, set before each run of its instances from now on (quotaBeforeRun). */
function setUnitQuota(context: RunContext, unit: PlanGroup, quota: number | null): void {
  for (const instance of unit.instances) context.calibration.quotas.set(instance.id, quota);
}

/** A unit's record in results.json and its CLI line. */
async function recordUnit(
  context: RunContext,
  unit: PlanGroup,
  costs: CalibrationCost[],
  applied: Applied,
): Promise<void> {
  const record: CalibrationGroup = {
    group: unit.key,
    costs,
    toolBusyFraction: busiestTool(costs),
    serverQuotaCores: applied.quotaCores,
    toolCpus: applied.toolCpus,
    headroomFraction: applied.busyAfter === null ? null : 1 - applied.busyAfter,
    decision: '',
    rechecks: applied.rechecks,
    adjustments: [],
  };
  record.decision = decisionLine(record, applied.why);
  recordCalibration(context, record);
  context.options.onEvent({ type: 'calibration', group: unit.key, decision: record.decision });
  await context.store.save();
}

/** The CPUs the tool shares with the servers when unpinned; null when each side has its own. */
function sharedCpus(context: RunContext): number | null {
  return context.run.profile.pinning === 'none' ? context.run.serverCores : null;
}

/**
 * The cores a point's tool can use: pinned, its CPUs (one thread each after tool-cores);
 * unpinned, its threads when fewer than the CPUs it may run on.
 */
function toolCoresOf(context: RunContext, instance: PlannedInstance, rep: Repetition): number {
  const cpus = rep.load.toolCpu?.cores ?? 1;
  if (sharedCpus(context) === null) return cpus;
  return Math.max(1, Math.min(cpus, context.run.profile.threads, instance.point.connections));
}

/** What each side spent per response in one measured run of a point, and how busy the tool was. */
function costOf(context: RunContext, instance: PlannedInstance, rep: Repetition): CalibrationCost {
  const toolCpu = rep.load.toolCpu;
  const server = rep.cost?.serverCpuMicrosPerResponse ?? null;
  const shared = sharedCpus(context);
  const busy =
    toolCpu === null
      ? null
      : shared === null
        ? toolCpu.utilisation
        : toolBusyOf({
            utilisation: toolCpu.utilisation,
            cpus: toolCpu.cores,
            toolCores: toolCoresOf(context, instance, rep),
            sharedCpus: shared,
            serverCpus: serverCpusOf(rep),
          });
  return {
    resultId: instance.id,
    serverCpuMicrosPerResponse: server,
    toolCpuMicrosPerResponse: rep.cost?.toolCpuMicrosPerResponse ?? null,
    toolBusyFraction: busy,
  };
}

/** The CPUs the servers used on average while the load ran; null when not measured. */
function serverCpusOf(rep: Repetition): number | null {
  const micros = rep.cost?.serverCpuMicrosPerResponse ?? null;
  if (micros === null || rep.load.elapsedSeconds <= 0) return null;
  return (micros * rep.load.requests.succeeded) / 1e6 / rep.load.elapsedSeconds;
}

/** What each side spent per response in the sampled warm-up run of each point. */
function costsOf(context: RunContext, group: PlanGroup, sampled: Map<string, Repetition>): CalibrationCost[] {
  return group.instances.flatMap((instance) => {
    const rep = sampled.get(instance.id);
    return rep === undefined ? [] : [costOf(context, instance, rep)];
  });
}

interface Applied {
  quotaCores: number | null;
  toolCpus: number[] | null;
  why: string;
  /** The tool's busiest fraction in the last re-check under the choice (null: none run). */
  busyAfter: number | null;
  rechecks: CalibrationRecheck[];
}

/** The tool's and the servers' cores for the quota rule, from the runs measured. */
function quotaCoresOf(context: RunContext, group: PlanGroup, runs: Map<string, Repetition>) {
  const toolCores = Math.max(
    1,
    ...group.instances.flatMap((i) => {
      const rep = runs.get(i.id);
      return rep === undefined ? [] : [toolCoresOf(context, i, rep)];
    }),
  );
  const serverCores = Math.max(
    ...group.instances.map((i) => i.point.serverCpus?.length ?? context.run.serverCores),
  );
  return { toolCores, serverCores };
}

/**
 * One quota for every server of the group, from its warm-up costs, then re-checked: while the
 * tool had less than 20% to spare, or more than 40% (at most MAX_EXTRA_RECHECKS times more), the
 * quota is moved by the measured ratio and checked again. The group keeps the highest quota that
 * left the tool its 20%.
 */
async function applyQuota(
  context: RunContext,
  group: PlanGroup,
  running: RunningServers,
  costs: CalibrationCost[],
  sampled: Map<string, Repetition>,
): Promise<Applied> {
  const { toolCores, serverCores } = quotaCoresOf(context, group, sampled);
  const { quotaCores, why } = serverQuotaFor(costs, toolCores, serverCores, sharedCpus(context));
  if (quotaCores === null) {
    setUnitQuota(context, group, null);
    return { quotaCores, toolCpus: null, why, busyAfter: busiestTool(costs), rechecks: [] };
  }
  const rechecks: CalibrationRecheck[] = [];
  let quota: number | null = quotaCores;
  while (quota !== null && rechecks.length <= MAX_EXTRA_RECHECKS) {
    // The re-check's warm-up runs set it before each of the unit's runs (quotaBeforeRun).
    setUnitQuota(context, group, quota);
    const busy = busiestTool(costsOf(context, group, await recheck(context, group, running)));
    rechecks.push({ quotaCores: quota, toolBusyFraction: busy });
    quota = recheckQuota(quota, busy, serverCores);
  }
  const settled = settledRecheck(rechecks);
  setUnitQuota(context, group, settled.quotaCores);
  // More than one re-check: each quota tried and how busy the tool was under it.
  const tried =
    rechecks.length > 1
      ? `; re-checked at ${rechecks.map((r) => `${r.quotaCores} CPU (${r.toolBusyFraction === null ? '?' : percent(r.toolBusyFraction)} busy)`).join(', ')}`
      : '';
  return {
    quotaCores: settled.quotaCores,
    toolCpus: null,
    why: `${why}${tried}`,
    busyAfter: settled.toolBusyFraction,
    rechecks,
  };
}

/** One warm-up run per point under the choice, measured. */
function recheck(context: RunContext, group: PlanGroup, running: RunningServers) {
  return warmUpGroup(context, group, running, { runs: 1, sample: true });
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
    return {
      quotaCores: null,
      toolCpus: point?.loadCpus ?? null,
      why,
      busyAfter: busiestTool(costs),
      rechecks: [],
    };
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
  const after = costsOf(context, group, await recheck(context, group, running));
  return { quotaCores: null, toolCpus: loadCpus, why, busyAfter: busiestTool(after), rechecks: [] };
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
  const calibration = context.store.results.topology.calibration;
  if (calibration === null) return;
  calibration.groups.push(record);
  describeCalibration(context);
}

/** The topology's line and run quota from the calibration's records as they stand. */
function describeCalibration(context: RunContext): void {
  const topology = context.store.results.topology;
  const calibration = topology.calibration;
  if (calibration === null) return;
  topology.description = `${context.calibration.description}; ${calibrationText(calibration)}`;
  // One quota for the whole run (never lowered) is the run's quota, as a profile's would be.
  const quotas = new Set(
    calibration.groups.flatMap((g) => [g.serverQuotaCores, ...g.adjustments.map((a) => a.quotaCores)]),
  );
  const [only] = [...quotas];
  topology.serverCpuQuotaCores = quotas.size === 1 && only !== undefined ? only : null;
}

/**
 * After round `round` (1-based) of a group under server-quota, when another follows: if the
 * tool was TOOL_SATURATED busy in a valid repetition of the round, the quota is lowered for the
 * next rounds (adjustQuota), recorded in the group and said in one CLI line. Every round's
 * servers share one quota, so paired ratios stay paired. Rate steps are shares of the capacity
 * measured under the warm-up's quota: their rounds keep it.
 */
export async function followQuota(context: RunContext, group: PlanGroup, round: number): Promise<void> {
  if (context.calibration.method !== 'server-quota' || context.quotaGroup === null) return;
  if (context.run.rateTool !== null) return;
  for (const unit of calibrationUnits(group)) await followUnitQuota(context, unit, round);
}

/** followQuota for one unit: its servers at one sweep point, under their own quota. */
async function followUnitQuota(context: RunContext, unit: PlanGroup, round: number): Promise<void> {
  const record = context.store.results.topology.calibration?.groups.find((g) => g.group === unit.key);
  const quotaCores = context.calibration.quotas.get(unit.instances[0]?.id ?? '');
  if (record === undefined || quotaCores === undefined) return;
  const runs = new Map<string, Repetition>();
  for (const instance of unit.instances) {
    const rep = context.store.result(instance.id).repetitions.find((r) => r.round === round - 1);
    if (rep?.verdict.valid === true) runs.set(instance.id, rep);
  }
  const costs = costsOf(context, unit, runs);
  const adjustment = adjustQuota({
    costs,
    quotaCores,
    ...quotaCoresOf(context, unit, runs),
    sharedCpus: sharedCpus(context),
    adjustmentsSoFar: record.adjustments.length,
    round,
  });
  if (adjustment === null) return;
  // Set before each of the unit's runs from the next round on (quotaBeforeRun).
  setUnitQuota(context, unit, adjustment.quotaCores);
  record.adjustments.push({ afterRound: round, ...adjustment });
  describeCalibration(context);
  const decision = `${unit.key}: servers capped at ${adjustment.quotaCores} CPU from round ${round + 1}: ${adjustment.why} (µs per response: ${costsText(costs)})`;
  context.options.onEvent({ type: 'calibration', group: unit.key, decision });
  await context.store.save();
}
