import type { Calibration, CalibrationCost, CalibrationMethod } from './results-schema.ts';

/**
 * Calibrating the topology from the warm-up, so the load tool is not what a figure measures.
 * Pure: the executor measures the costs and applies the choice; this decides.
 */

/** The busiest the tool may be: at least 20% of its cores to spare. */
export const TOOL_BUSY_TARGET = 0.8;
/** Below a tenth of a CPU the 100 ms quota periods make the servers stutter, not run slower. */
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
  if (setting.pinning === 'none') return none('unpinned: the servers and the tool share every CPU');
  if (setting.cpus >= 3 && !setting.sweptSplit) {
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
 * One quota for every server of a group, so that at the cheapest server's cost per response the
 * tool runs at most TOOL_BUSY_TARGET of its cores: Q = min over servers of
 * 0.8 * toolCores * serverCost / toolCost, rounded down to 0.01 CPU, at least
 * MIN_SERVER_QUOTA_CORES. No cap when the tool already had the headroom, when no cost was
 * measured, or when Q would not be below the servers' own cores.
 */
export function serverQuotaFor(
  costs: readonly CalibrationCost[],
  toolCores: number,
  serverCores: number,
): QuotaChoice {
  const busy = busiestTool(costs);
  const figures = measured(costs);
  if (busy === null || figures.length === 0) {
    return { quotaCores: null, why: 'no cost per response measured in warm-up: no cap' };
  }
  if (busy <= TOOL_BUSY_TARGET) {
    return { quotaCores: null, why: `the tool was at most ${percent(busy)} busy: no cap needed` };
  }
  const exact = Math.min(...figures.map((f) => (TOOL_BUSY_TARGET * toolCores * f.server) / f.tool));
  const quota = Math.max(MIN_SERVER_QUOTA_CORES, Math.floor(exact * 100) / 100);
  if (quota >= serverCores) {
    return {
      quotaCores: null,
      why: `the tool was ${percent(busy)} busy, but a quota of ${quota} CPU is not below the servers' ${serverCores}: no cap`,
    };
  }
  return { quotaCores: quota, why: `the tool was ${percent(busy)} busy uncapped` };
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
 * report): under a quota, absolute responses per second are per share of a core.
 */
export function calibrationText(calibration: Calibration): string {
  if (calibration.method === 'none' || calibration.method === 'load-hosts') {
    return `not calibrated (${calibration.method}): ${calibration.reason}`;
  }
  const groups = calibration.groups.map((g) => {
    const headroom =
      g.headroomFraction === null ? '' : `, tool headroom ${percent(Math.max(0, g.headroomFraction))}`;
    if (g.serverQuotaCores !== null)
      return `${g.group} servers capped at ${g.serverQuotaCores} CPU${headroom}`;
    if (g.toolCpus !== null) return `${g.group} tool on CPU ${g.toolCpus.join(',')}${headroom}`;
    return `${g.group} unchanged${headroom}`;
  });
  const quota = calibration.groups.some((g) => g.serverQuotaCores !== null)
    ? '; responses per second under a quota are per share of a core: ratios and efficiency compare across machines'
    : '';
  return `calibrated (${calibration.method}): ${groups.join(', ') || 'no group'}${quota}`;
}
