import { parseRateStep, parseSlo, type RateStep, type Slo } from './rates.ts';
import type { Point } from './results.ts';
import type { Profile, Scenario } from './scenario.ts';
import type { AcceptMode } from './server-stats.ts';

/**
 * The plan: suite x sweep points x rounds, as plain data computed before anything runs. The
 * executor only walks it, so what a run will do (and what it will skip, and why) can be read and
 * tested without starting a process.
 */

export interface PlannedServer {
  /** One process (tree) serves every point that differs only in connections. */
  key: string;
  scenario: Scenario;
  workers: number;
  serverCpus: number[] | null;
  accept: AcceptMode | null;
}

export interface PlannedInstance {
  /** The result id: the scenario id, plus the swept point (`2a@w2,c64`). */
  id: string;
  scenario: Scenario;
  point: Point;
  serverKey: string;
  /** The baseline instance at the same point, null for a baseline or a group without one. */
  baselineId: string | null;
}

export interface PlanGroup {
  /** Scenarios sharing a payload size run interleaved and are compared with one baseline. */
  key: string;
  payloadBytes: number;
  servers: PlannedServer[];
  /** Every round runs each instance once, in this order. */
  instances: PlannedInstance[];
}

export interface SkippedPoint {
  id: string;
  scenario: Scenario;
  point: Point;
  reason: string;
}

export interface Plan {
  sweep: {
    workers: number[];
    connections: number[];
    serverCpus: number[] | null;
    accept: AcceptMode[] | null;
  };
  /** More than one value on some axis: ids carry their point. */
  swept: boolean;
  groups: PlanGroup[];
  skipped: SkippedPoint[];
  rounds: { min: number; max: number };
  adaptive: { targetCiPercent: number; maxRepetitions: number; timeBudgetSeconds: number | null } | null;
  /** Open-loop rate steps (profile.rates) in the order given; null: closed loop. */
  rates: RateStep[] | null;
  /** Latency objectives whose capacity the latency curves report. */
  slo: Slo[];
}

export interface PlanInput {
  scenarios: readonly Scenario[];
  profile: Profile;
  /** The CPUs this run may use (its affinity mask). */
  cpus: readonly number[];
}

function asList(value: number | readonly number[]): number[] {
  return Array.isArray(value) ? [...value] : [value as number];
}

/** 1, 2, 4, ... up to n, plus n itself: the scaling profile's worker counts. */
export function powersOfTwoUpTo(n: number): number[] {
  const out: number[] = [];
  for (let w = 1; w <= n; w *= 2) out.push(w);
  if (out[out.length - 1] !== n) out.push(n);
  return out;
}

function unique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** The CPU split of one point, or the reason the machine cannot give it. */
export function pointCpus(
  pinning: Profile['pinning'],
  cpus: readonly number[],
  serverCpuCount: number | null,
): { serverCpus: number[] | null; loadCpus: number[] | null } | { reason: string } {
  if (pinning === 'none' || cpus.length < 2) return { serverCpus: null, loadCpus: null };
  const k = serverCpuCount ?? Math.floor(cpus.length / 2);
  if (k >= cpus.length) {
    return {
      reason:
        `needs ${k} CPU${k === 1 ? '' : 's'} for the server side and at least 1 for the load tool; ` +
        `${cpus.length} are available (fewer workers, --server-cpus, or --no-pin to share them)`,
    };
  }
  return { serverCpus: cpus.slice(0, k), loadCpus: cpus.slice(k) };
}

/** The sweep a profile asks for, resolved against this machine's CPUs. */
export function resolveSweep(profile: Profile, cpus: readonly number[]): Plan['sweep'] & { auto: boolean } {
  const pinnedShare =
    profile.pinning === 'split' && cpus.length >= 2 ? Math.floor(cpus.length / 2) : cpus.length;
  let workers: number[];
  let auto = false;
  if (profile.workers === 'auto') {
    workers = [];
    auto = true;
  } else if (profile.workers === 'powers-of-two') {
    workers = powersOfTwoUpTo(Math.max(1, pinnedShare));
  } else {
    workers = unique(asList(profile.workers));
  }
  return {
    workers,
    connections: unique(asList(profile.connections)),
    serverCpus: profile.serverCpus === undefined ? null : unique(profile.serverCpus),
    accept: profile.accept === undefined ? null : [...new Set(profile.accept)],
    auto,
  };
}

type Swept = { workers: boolean; connections: boolean; cpus: boolean; accept: boolean; rates: boolean };

function tag(point: Point, swept: Swept) {
  const parts: string[] = [];
  if (swept.workers) parts.push(`w${point.workers}`);
  if (swept.connections) parts.push(`c${point.connections}`);
  if (swept.cpus) parts.push(`cpu${point.serverCpus?.length ?? 'any'}`);
  if (swept.accept && point.accept !== null) parts.push(point.accept);
  if (swept.rates && point.rateStep !== null) parts.push(`r${point.rateStep}`);
  return parts.join(',');
}

/** The profile's rate steps, parsed (the profile was validated: a bad one cannot reach here). */
export function rateStepsOf(profile: Pick<Profile, 'rates'>): RateStep[] | null {
  if (profile.rates === undefined) return null;
  return profile.rates.map((raw) => {
    const step = parseRateStep(raw);
    if ('problem' in step) throw new Error(step.problem);
    return step;
  });
}

/** The profile's latency objectives, parsed. */
export function slosOf(profile: Pick<Profile, 'slo'>): Slo[] {
  return (profile.slo ?? []).map((raw) => {
    const slo = parseSlo(raw);
    if ('problem' in slo) throw new Error(slo.problem);
    return slo;
  });
}

/** What one scenario contributes to its group (and to the skipped list) at every sweep point. */
interface Expansion {
  sweep: ReturnType<typeof resolveSweep>;
  swept: Swept;
  anySwept: boolean;
  rates: (RateStep | null)[];
  profile: Profile;
  cpus: readonly number[];
  skipped: SkippedPoint[];
  resolvedWorkers: Set<number>;
}

function groupOf(groups: Map<number, PlanGroup>, scenario: Scenario): PlanGroup {
  let group = groups.get(scenario.payloadBytes);
  if (group === undefined) {
    group = {
      key: `${scenario.payloadBytes}B`,
      payloadBytes: scenario.payloadBytes,
      servers: [],
      instances: [],
    };
    groups.set(scenario.payloadBytes, group);
  }
  return group;
}

function expandScenario(scenario: Scenario, group: PlanGroup, x: Expansion): void {
  const { sweep, swept, profile, cpus } = x;
  const workerSweep = sweep.auto ? [] : sweep.workers;
  const accepts: (AcceptMode | null)[] =
    scenario.server.kind === 'scaleup' ? (sweep.accept ?? [scenario.server.accept]) : [null];
  const connectionValues =
    scenario.baseline && profile.baselineConnections !== undefined && !swept.connections
      ? [profile.baselineConnections]
      : sweep.connections;
  for (const cpuCount of sweep.serverCpus ?? [null]) {
    for (const requestedWorkers of workerSweep.length > 0 ? workerSweep : [null]) {
      // A worker sweep without --server-cpus gives each point one CPU per worker.
      const serverCpuCount = cpuCount ?? (swept.workers ? requestedWorkers : null);
      const split = pointCpus(profile.pinning, cpus, serverCpuCount);
      const workers =
        requestedWorkers ??
        ('reason' in split ? (serverCpuCount ?? 1) : Math.max(1, split.serverCpus?.length ?? cpus.length));
      x.resolvedWorkers.add(workers);
      for (const accept of accepts) {
        for (const connections of connectionValues) {
          for (const rate of x.rates) {
            const point: Point = {
              workers,
              connections,
              serverCpus: 'reason' in split ? null : split.serverCpus,
              loadCpus: 'reason' in split ? null : split.loadCpus,
              accept,
              // A share of capacity is resolved after warm-up; an absolute rate is known now.
              offeredRate: rate?.kind === 'absolute' ? rate.perSecond : null,
              rateStep: rate?.text ?? null,
            };
            const suffix = x.anySwept ? tag(point, swept) : '';
            const id = suffix === '' ? scenario.id : `${scenario.id}@${suffix}`;
            if ('reason' in split) {
              x.skipped.push({ id, scenario, point, reason: split.reason });
              continue;
            }
            const serverKey = [scenario.id, workers, point.serverCpus?.join(',') ?? 'any', accept ?? ''].join(
              '|',
            );
            if (!group.servers.some((s) => s.key === serverKey)) {
              group.servers.push({ key: serverKey, scenario, workers, serverCpus: point.serverCpus, accept });
            }
            group.instances.push({ id, scenario, point, serverKey, baselineId: null });
          }
        }
      }
    }
  }
}

/** Each point's baseline: nginx at the same workers, CPUs (and rate step). */
function linkBaselines(group: PlanGroup): void {
  for (const instance of group.instances) {
    if (instance.scenario.baseline) continue;
    const candidates = group.instances.filter(
      (b) =>
        b.scenario.baseline &&
        b.point.workers === instance.point.workers &&
        b.point.rateStep === instance.point.rateStep &&
        (b.point.serverCpus?.join(',') ?? '') === (instance.point.serverCpus?.join(',') ?? ''),
    );
    // The seed gave nginx fewer connections than the servers: then the one baseline at these
    // workers is the yardstick whatever its connection count.
    const baseline =
      candidates.find((b) => b.point.connections === instance.point.connections) ??
      (candidates.length === 1 ? candidates[0] : undefined);
    instance.baselineId = baseline?.id ?? null;
  }
}

/**
 * A rate sweep's round takes every server at the first step, then every server at the next:
 * a server's own runs are spread over the round, and each step's runs sit close in time.
 */
function interleaveRates(group: PlanGroup, rates: readonly RateStep[] | null): void {
  if (rates === null) return;
  const order = new Map(rates.map((r, i) => [r.text, i]));
  const at = (i: PlannedInstance) => order.get(i.point.rateStep ?? '') ?? 0;
  // Array.prototype.sort is stable: within a step the plan's own order holds.
  group.instances.sort((a, b) => at(a) - at(b));
}

/**
 * Every scenario at every point of the sweep, grouped by payload. Worker sweeps under split
 * pinning give the server side as many CPUs as workers (or --server-cpus), the load tool the
 * rest; a point the machine cannot give its CPUs is skipped with the reason, never silently
 * oversubscribed. Rate steps (open loop) are the innermost axis: one server serves them all.
 */
export function buildPlan(input: PlanInput): Plan {
  const { profile, cpus } = input;
  const sweep = resolveSweep(profile, cpus);
  const rates = rateStepsOf(profile);
  const swept: Swept = {
    workers: !sweep.auto && sweep.workers.length > 1,
    connections: sweep.connections.length > 1,
    cpus: (sweep.serverCpus?.length ?? 0) > 1,
    accept: (sweep.accept?.length ?? 0) > 1,
    // Even one step: its id says the point is open loop.
    rates: rates !== null,
  };
  const expansion: Expansion = {
    sweep,
    swept,
    anySwept: Object.values(swept).some(Boolean),
    rates: rates ?? [null],
    profile,
    cpus,
    skipped: [],
    resolvedWorkers: new Set<number>(),
  };
  const groups = new Map<number, PlanGroup>();
  for (const scenario of input.scenarios) expandScenario(scenario, groupOf(groups, scenario), expansion);
  for (const group of groups.values()) {
    linkBaselines(group);
    interleaveRates(group, rates);
  }

  // Adaptive rounds judge throughput ratios, which an offered rate fixes: a rate sweep runs the
  // profile's fixed rounds (its capacities are judged per round, latencyCurves).
  const adaptive =
    profile.targetCiPercent === undefined || rates !== null
      ? null
      : {
          targetCiPercent: profile.targetCiPercent,
          maxRepetitions: Math.max(profile.repetitions, profile.maxRepetitions ?? profile.repetitions * 3),
          timeBudgetSeconds: profile.timeBudgetSeconds ?? null,
        };
  return {
    sweep: {
      workers: sweep.auto ? unique([...expansion.resolvedWorkers]) : sweep.workers,
      connections: sweep.connections,
      serverCpus: sweep.serverCpus,
      accept: sweep.accept,
    },
    swept: expansion.anySwept,
    groups: [...groups.values()].filter((g) => g.instances.length > 0),
    skipped: expansion.skipped,
    rounds: { min: profile.repetitions, max: adaptive?.maxRepetitions ?? profile.repetitions },
    adaptive,
    rates,
    slo: slosOf(profile),
  };
}

export interface PlannedRun {
  groupKey: string;
  instanceId: string;
  instance: PlannedInstance;
  round: number;
}

/**
 * One round of a group: every instance once, in plan order (A B C, then again next round). The
 * executor walks exactly this.
 */
export function roundOf(group: PlanGroup, round: number): PlannedRun[] {
  return group.instances.map((instance) => ({
    groupKey: group.key,
    instanceId: instance.id,
    instance,
    round,
  }));
}

/** The measured runs a plan makes at its minimum round count (the whole plan when not adaptive). */
export function plannedRuns(plan: Plan): number {
  return plan.groups.reduce((sum, g) => sum + g.instances.length, 0) * plan.rounds.min;
}

/** The most measured runs the plan may make (adaptive rounds up to their maximum). */
export function maximumRuns(plan: Plan): number {
  return plan.groups.reduce((sum, g) => sum + g.instances.length, 0) * plan.rounds.max;
}

/**
 * The points one warm-up serves: the rate steps of a server at one connection count share it
 * (one closed-loop capacity is what their shares are of); any other point warms up on its own.
 */
export function warmupKeyOf(instance: PlannedInstance): string {
  return instance.point.rateStep === null
    ? instance.id
    : `${instance.serverKey}|c${instance.point.connections}`;
}

/** A rate step's offered rate against a server's closed-loop capacity (responses per second). */
export function resolveRateStep(
  stepText: string,
  capacityPerSecond: number | null,
): { perSecond: number } | { problem: string } {
  const step = parseRateStep(stepText);
  if ('problem' in step) return step;
  if (step.kind === 'absolute') return { perSecond: step.perSecond };
  if (capacityPerSecond === null || !(capacityPerSecond > 0)) {
    return {
      problem: `${step.text} of capacity is unknown: the warm-up measured no succeeded responses`,
    };
  }
  // Whole responses per second: the schedule cannot offer less than one.
  return { perSecond: Math.max(1, Math.round(step.fraction * capacityPerSecond)) };
}

export interface ResolvedRate {
  instanceId: string;
  rateStep: string;
  /** The server's closed-loop capacity the step is a share of; null when unknown or not needed. */
  capacityPerSecond: number | null;
  offeredPerSecond: number | null;
  /** Why the step has no rate (the point is skipped); null when it has one. */
  problem: string | null;
}

/**
 * Every rate point of a group resolved from its server's capacity (`capacityOf` a warm-up key:
 * the last warm-up run's succeeded responses per second). Closed-loop points are left out.
 */
export function resolveGroupRates(
  group: PlanGroup,
  capacityOf: (warmupKey: string) => number | null,
): ResolvedRate[] {
  return group.instances.flatMap((instance) => {
    const rateStep = instance.point.rateStep;
    if (rateStep === null) return [];
    const capacityPerSecond = capacityOf(warmupKeyOf(instance));
    const resolved = resolveRateStep(rateStep, capacityPerSecond);
    return [
      {
        instanceId: instance.id,
        rateStep,
        capacityPerSecond,
        offeredPerSecond: 'perSecond' in resolved ? resolved.perSecond : null,
        problem: 'problem' in resolved ? resolved.problem : null,
      },
    ];
  });
}

/** A rate point's id without its step: `1a@c64,r75%` is `1a@c64`, `1a@r75%` is `1a` (the step is the last tag). */
export function withoutRateStep(id: string): string {
  return id.replace(/[@,]r\d[\d.]*%?$/, '');
}
