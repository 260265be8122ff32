import type { Calibration, CalibrationCost, CalibrationMethod } from './results-schema.ts';
import { TOOL_SATURATED } from './summary.ts';

/**
 * Calibrating the topology from the warm-up, so the load tool is not what a figure measures.
 * Pure: the executor measures the costs and applies the choice; this decides.
 */

/** The busiest the tool may be: at least 20% of its cores to spare. */
export const TOOL_BUSY_TARGET = 0.8;
/** A tenth of a CPU is a 1 ms quota per 10 ms period, the least the kernel takes (cgroup.ts). */
export const MIN_SERVER_QUOTA_CORES = 0.1;

export interface CalibrationSetting {
  /** The profile calibrates (false: --no-calibrate, or a profile that does not). */
  calibrate: boolean;
  /** A quota the user asked for (--server-quota); it is kept as asked. */
  explicitQuotaCores: number | null;
  /** The load tool or the servers run on other hosts. */
  otherHosts: boolean;
  pinning: 'split' | 'none';
  /** The CPUs split between the servers and the tool. */
  cpus: number;
  /** Points with CPU splits of their own (a --server-cpus or worker sweep): the split is the experiment. */
  sweptSplit: boolean;
  /** Null when the servers can be given a CPU quota here, else why not. */
  quotaUnavailable: string | null;
}

export interface CalibrationChoice {
  method: CalibrationMethod;
  reason: string;
  /** Said once, when the run cannot keep the tool from being the bottleneck. */
  warning: string | null;
}

/** Which way the run keeps the tool from being the bottleneck, decided before anything starts. */
export function chooseCalibration(setting: CalibrationSetting): CalibrationChoice {
  const none = (reason: string, warning: string | null = null): CalibrationChoice => ({
    method: 'none',
    reason,
    warning,
  });
  if (!setting.calibrate) return none('not asked for (--no-calibrate, or a profile that does not calibrate)');
  if (setting.explicitQuotaCores !== null) {
    return none(`the servers run under the quota asked for (${setting.explicitQuotaCores} CPU)`);
  }
  if (setting.otherHosts) {
    return {
      method: 'load-hosts',
      reason: 'the load tool and the servers run on different hosts',
      warning: null,
    };
  }
  // Unpinned, the tool's room can only come from capping the servers, however many CPUs there are.
  if (setting.pinning === 'none' && setting.quotaUnavailable === null) {
    return {
      method: 'server-quota',
      reason: `unpinned: the servers and the tool share all ${setting.cpus} CPUs, so every server of a group runs under one CPU quota chosen from the warm-up that leaves the tool 20% of the CPU it can use`,
      warning: null,
    };
  }
  if (setting.pinning === 'split' && setting.cpus >= 3 && !setting.sweptSplit) {
    return {
      method: 'tool-cores',
      reason: `${setting.cpus} CPUs: the tool's share sized from the costs per response measured in warm-up`,
      warning: null,
    };
  }
  if (setting.quotaUnavailable === null) {
    return {
      method: 'server-quota',
      reason: `${setting.cpus} CPUs cannot be split to give the tool room: every server of a group runs under one CPU quota chosen from the warm-up`,
      warning: null,
    };
  }
  return none(
    `no CPU quota possible: ${setting.quotaUnavailable}`,
    `cannot keep the load tool from being the bottleneck: ${setting.quotaUnavailable}; ` +
      'where it saturates, throughput figures are lower bounds (run the load on another machine with --load-host)',
  );
}

/** The costs that can be divided: every figure measured and above zero. */
function measured(costs: readonly CalibrationCost[]) {
  return costs.flatMap((c) =>
    c.serverCpuMicrosPerResponse !== null &&
    c.serverCpuMicrosPerResponse > 0 &&
    c.toolCpuMicrosPerResponse !== null &&
    c.toolCpuMicrosPerResponse > 0
      ? [{ server: c.serverCpuMicrosPerResponse, tool: c.toolCpuMicrosPerResponse }]
      : [],
  );
}

/** The busiest the tool was against any server, or null when no run said. */
export function busiestTool(costs: readonly CalibrationCost[]): number | null {
  const busy = costs.flatMap((c) => (c.toolBusyFraction === null ? [] : [c.toolBusyFraction]));
  return busy.length === 0 ? null : Math.max(...busy);
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

export interface QuotaChoice {
  /** The quota for every server of the group, in CPUs; null: no cap. */
  quotaCores: number | null;
  why: string;
}

/**
 * The quota at which one server, flat out, leaves the tool TOOL_BUSY_TARGET of its cores: its
 * responses cost the tool `tool` µs and the server `server` µs, so at Q CPUs the tool needs
 * Q * tool / server CPUs. Pinned, it has `toolCores` of its own. Sharing `sharedCpus` CPUs with
 * the servers (unpinned) it can use only what they leave, min(toolCores, sharedCpus - Q), so
 * also Q * tool / server <= 0.8 * (sharedCpus - Q).
 */
function exactQuota(f: { server: number; tool: number }, toolCores: number, sharedCpus: number | null) {
  const own = (TOOL_BUSY_TARGET * toolCores * f.server) / f.tool;
  if (sharedCpus === null) return own;
  return Math.min(own, (TOOL_BUSY_TARGET * sharedCpus * f.server) / (f.tool + TOOL_BUSY_TARGET * f.server));
}

/** Rounded down to 0.01 CPU, at least MIN_SERVER_QUOTA_CORES. */
const quotaOf = (exact: number) => Math.max(MIN_SERVER_QUOTA_CORES, Math.floor(exact * 100 + 1e-9) / 100);

/**
 * One quota for every server of a group, so that at the cheapest server's cost per response the
 * tool runs at most TOOL_BUSY_TARGET of its cores: Q = min over servers of
 * 0.8 * toolCores * serverCost / toolCost (and, when the tool shares `sharedCpus` CPUs with the
 * servers, 0.8 * sharedCpus * serverCost / (toolCost + 0.8 * serverCost)), rounded down to
 * 0.01 CPU, at least MIN_SERVER_QUOTA_CORES. No cap when the tool already had the headroom, when
 * no cost was measured, or when Q would not be below the servers' own cores.
 */
export function serverQuotaFor(
  costs: readonly CalibrationCost[],
  toolCores: number,
  serverCores: number,
  sharedCpus: number | null = null,
): QuotaChoice {
  const busy = busiestTool(costs);
  const figures = measured(costs);
  if (busy === null || figures.length === 0) {
    return { quotaCores: null, why: 'no cost per response measured in warm-up: no cap' };
  }
  if (busy <= TOOL_BUSY_TARGET) {
    return { quotaCores: null, why: `the tool was at most ${percent(busy)} busy: no cap needed` };
  }
  const quota = quotaOf(Math.min(...figures.map((f) => exactQuota(f, toolCores, sharedCpus))));
  if (quota >= serverCores) {
    return {
      quotaCores: null,
      why: `the tool was ${percent(busy)} busy, but a quota of ${quota} CPU is not below the servers' ${serverCores}: no cap`,
    };
  }
  return { quotaCores: quota, why: `the tool was ${percent(busy)} busy uncapped` };
}

/**
 * How busy the tool was of the CPU it could have used: its threads' cores (`toolCores`, its
 * threads or its CPUs, whichever is fewer), and when it shares `sharedCpus` CPUs with the
 * servers, no more than the servers left it (`serverCpus`: what they used on average). From the
 * tool's utilisation of the `cpus` it was allowed, over the same wall time.
 */
export function toolBusyOf(run: {
  utilisation: number;
  cpus: number;
  toolCores: number;
  sharedCpus: number | null;
  serverCpus: number | null;
}): number | null {
  if (run.toolCores <= 0 || run.cpus <= 0) return null;
  const left =
    run.sharedCpus === null || run.serverCpus === null
      ? run.toolCores
      : Math.min(run.toolCores, run.sharedCpus - run.serverCpus);
  // A tool left (almost) nothing was starved: as busy as it gets.
  if (left <= 0.01) return 1;
  return (run.utilisation * run.cpus) / left;
}

/** Re-checks after the first under a quota, when the tool still had less than 20% to spare. */
export const MAX_EXTRA_RECHECKS = 2;

/**
 * Below this busy share a re-check raises the quota: the warm-up costs over-capped the servers.
 * wrk's cost per response grows as the server it drives slows down (fewer responses per wake-up),
 * so a quota from uncapped costs can leave the tool far more than its 20%: at 1024 connections
 * 0.22 CPU left it 61% (2026-12-03).
 */
export const TOOL_BUSY_RAISE_BELOW = 0.6;

/**
 * The quota for one more re-check, by the measured ratio Q * 0.8 / busy (rounded down to 0.01
 * CPU, at least MIN_SERVER_QUOTA_CORES): lower when the last one left the tool less than its 20%,
 * higher (never to `serverCores` or above: that is no cap) when it left it more than 40%; null
 * when the quota stands or cannot move.
 */
export function recheckQuota(quotaCores: number, busy: number | null, serverCores = Infinity): number | null {
  if (busy === null || busy <= 0) return null;
  const next = quotaOf((quotaCores * TOOL_BUSY_TARGET) / busy);
  if (busy > TOOL_BUSY_TARGET) return next < quotaCores ? next : null;
  if (busy >= TOOL_BUSY_RAISE_BELOW) return null;
  const raised = Math.min(next, quotaOf(serverCores - 0.01));
  return raised > quotaCores ? raised : null;
}

/**
 * The re-check a group keeps: the highest quota that left the tool its 20%, so the servers are
 * capped no more than needed; when none did, the lowest tried (the nearest to it).
 */
export function settledRecheck<T extends { quotaCores: number; toolBusyFraction: number | null }>(
  rechecks: readonly T[],
): T {
  const withHeadroom = rechecks.filter(
    (r) => r.toolBusyFraction !== null && r.toolBusyFraction <= TOOL_BUSY_TARGET,
  );
  const pool = withHeadroom.length > 0 ? withHeadroom : rechecks;
  const pick = withHeadroom.length > 0 ? Math.max : Math.min;
  const quota = pick(...pool.map((r) => r.quotaCores));
  return pool.find((r) => r.quotaCores === quota)!;
}

/** Mid-group quota changes at most, so a noisy machine cannot walk the quota down for ever. */
export const MAX_QUOTA_ADJUSTMENTS = 3;

export interface QuotaAdjustmentInput {
  /** What each server's valid repetition of the round just done cost (busy of the tool's cores). */
  costs: readonly CalibrationCost[];
  /** The quota the round ran under; null: uncapped. */
  quotaCores: number | null;
  toolCores: number;
  serverCores: number;
  sharedCpus: number | null;
  adjustmentsSoFar: number;
  /** The round just done (1-based), for the why. */
  round: number;
}

export interface QuotaAdjustment {
  quotaCores: number;
  toolBusyFraction: number;
  why: string;
}

/**
 * After a round: when the tool was at least TOOL_SATURATED busy against any server, a lower
 * quota for the next rounds, chosen from the round's costs by the warm-up's rule (serverQuotaFor);
 * when that rule does not give a lower one (its costs and the busy fraction disagree), the
 * quota is lowered by the measured ratio as a re-check would. Only downward, at most
 * MAX_QUOTA_ADJUSTMENTS per group, never below MIN_SERVER_QUOTA_CORES: null when none of that
 * allows a change or the tool kept its room.
 */
export function adjustQuota(input: QuotaAdjustmentInput): QuotaAdjustment | null {
  const busy = busiestTool(input.costs);
  if (busy === null || busy < TOOL_SATURATED || input.adjustmentsSoFar >= MAX_QUOTA_ADJUSTMENTS) return null;
  const current = input.quotaCores ?? input.serverCores;
  const byCosts = serverQuotaFor(
    input.costs,
    input.toolCores,
    input.serverCores,
    input.sharedCpus,
  ).quotaCores;
  const saw = `the tool was ${percent(busy)} busy in round ${input.round}`;
  if (byCosts !== null && byCosts < current) {
    return { quotaCores: byCosts, toolBusyFraction: busy, why: `${saw}: quota from its costs` };
  }
  const byRatio = quotaOf((current * TOOL_BUSY_TARGET) / busy);
  if (byRatio >= current) return null;
  return {
    quotaCores: byRatio,
    toolBusyFraction: busy,
    why: `${saw}: quota lowered by ${percent(TOOL_BUSY_TARGET)}/${percent(busy)} (its costs gave none lower)`,
  };
}

export interface ToolCoresChoice {
  /** CPUs for the tool (and as many threads); the rest go to the servers. */
  toolCores: number;
  why: string;
}

/**
 * The tool's share of `cpus` CPUs, so that when the servers run flat out on theirs the tool is
 * busy at most TOOL_BUSY_TARGET: with k = (toolCost / serverCost) / 0.8 for the server whose
 * responses cost the tool most relative to itself, the tool gets ceil(cpus * k / (1 + k)) CPUs,
 * at least one and leaving the servers one.
 */
export function toolCoresFor(costs: readonly CalibrationCost[], cpus: number): ToolCoresChoice {
  const even = cpus - Math.floor(cpus / 2);
  const figures = measured(costs);
  if (cpus < 2) return { toolCores: cpus, why: 'one CPU: nothing to split' };
  if (figures.length === 0) {
    return { toolCores: even, why: 'no cost per response measured in warm-up: the even split kept' };
  }
  const k = Math.max(...figures.map((f) => f.tool / f.server)) / TOOL_BUSY_TARGET;
  const toolCores = Math.min(cpus - 1, Math.max(1, Math.ceil((cpus * k) / (1 + k))));
  const ratio = Math.max(...figures.map((f) => f.tool / f.server));
  return {
    toolCores,
    why: `the tool spends ${ratio.toFixed(2)} µs per µs the cheapest server spends`,
  };
}

/** The costs of a group in a few words: what each side spent per response. */
export function costsText(costs: readonly CalibrationCost[]): string {
  const us = (v: number | null) => (v === null ? '?' : v.toFixed(1));
  return costs
    .map(
      (c) =>
        `${c.resultId} ${us(c.serverCpuMicrosPerResponse)} µs, tool ${us(c.toolCpuMicrosPerResponse)} µs` +
        (c.toolBusyFraction === null ? '' : ` (${percent(c.toolBusyFraction)} busy)`),
    )
    .join('; ');
}

/**
 * What the calibration decided, for the topology's description (the protocol line of every
 * report); that absolute figures under a quota are per share of a core is the report's quota
 * note, said once there.
 */
export function calibrationText(calibration: Calibration): string {
  if (calibration.method === 'none' || calibration.method === 'load-hosts') {
    return `not calibrated (${calibration.method}): ${calibration.reason}`;
  }
  const groups = calibration.groups.map((g) => {
    const headroom =
      g.headroomFraction === null ? '' : `, tool headroom ${percent(Math.max(0, g.headroomFraction))}`;
    const lowered = g.adjustments.map((a) => `, lowered to ${a.quotaCores} CPU after round ${a.afterRound}`);
    if (g.serverQuotaCores !== null)
      return `${g.group} servers capped at ${g.serverQuotaCores} CPU${headroom}${lowered.join('')}`;
    if (g.toolCpus !== null) return `${g.group} tool on CPU ${g.toolCpus.join(',')}${headroom}`;
    return `${g.group} unchanged${headroom}${lowered.join('')}`;
  });
  return `calibrated (${calibration.method}): ${groups.join(', ') || 'no group'}`;
}
