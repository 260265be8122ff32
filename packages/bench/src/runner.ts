import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildPlan,
  type Environment,
  type GroupStop,
  type LoadPlan,
  type LoadSpec,
  type LoadToolName,
  maximumRuns,
  median,
  type Plan,
  type PlanGroup,
  type PlannedInstance,
  type Profile,
  plannedRuns,
  RESULTS_SCHEMA_ID,
  RESULTS_SCHEMA_VERSION,
  type Repetition,
  type RepetitionLoad,
  type ResultsFile,
  type Scenario,
  type ScenarioResult,
  SERVER_DEFAULT_BACKLOG,
  type Suite,
  type ToolInfo,
  type Topology,
  UsageError,
  ZERO_COPY_MIN_BYTES,
} from '@scaleup/core';
import { allowedCpus } from '@scaleup/core/io';
import { decideRounds } from './adaptive.ts';
import { CpuQuotaGroup } from './cgroup.ts';
import { collectEnvironment } from './environment.ts';
import { estimateRemainingSeconds } from './eta.ts';
import { type PreparedHosts, prepareHosts, type RemoteOptions } from './hosts.ts';
import { remoteLoadPort } from './remote-load.ts';
import { localPlace, type ServerPlace, type ServerUnderTest } from './servers.ts';
import { measureRepetition } from './steps/measure.ts';
import { describePlanned, mergeDescription, startServer } from './steps/start.ts';
import { verifyServer } from './steps/verify.ts';
import { ResultsStore } from './store.ts';
import { planTopology } from './topology.ts';
import { checkTuningFor, peakConnections, tuningWarnings } from './tuning.ts';
import { CLIENT_SATURATED } from './verdict.ts';

/** What the runner needs from a load tool; the driver package provides it. */
export interface LoadToolPort {
  name: LoadToolName;
  version: string;
  /** Throws a UsageError-like error for a spec the tool cannot run, before anything starts. */
  validate(spec: LoadSpec): void;
  run(spec: LoadSpec, options: { rawOutputPath: string; signal: AbortSignal }): Promise<RepetitionLoad>;
}

export interface LoadProgress {
  requestsDone: number | null;
  requestsPerSecond: number | null;
  elapsedSeconds: number;
}

export interface NginxPort {
  detect(): Promise<Environment['nginx']>;
  start(options: {
    payloadBytes: number;
    workers: number;
    preset: 'stock' | 'tuned';
    connections: number;
    backlog: number;
    cpus: number[] | undefined;
    place: ServerPlace;
    /** Where nginx's error log is kept once it stops. */
    logPath: string;
  }): Promise<ServerUnderTest>;
}

export interface RunnerDeps {
  /** Every tool scaleup knows, found or not, with install hints for the missing. */
  detectTools(): Promise<ToolInfo[]>;
  loadTool(name: LoadToolName): Promise<LoadToolPort>;
  nginx: NginxPort;
}

export type BenchEvent =
  | {
      type: 'plan';
      runs: number;
      maxRuns: number;
      tool: LoadToolName;
      topology: Topology;
      outDir: string;
      points: number;
    }
  | { type: 'scenario-skipped'; scenarioId: string; reason: string }
  | { type: 'server-ready'; scenarioId: string; url: string }
  | { type: 'warmup'; scenarioId: string; run: number; requestsPerSecond: number }
  | { type: 'rep-start'; index: number; runs: number; scenarioId: string; round: number; rounds: number }
  | { type: 'rep-progress'; scenarioId: string; round: number; progress: LoadProgress }
  | {
      type: 'rep-done';
      index: number;
      runs: number;
      scenarioId: string;
      round: number;
      rounds: number;
      repetition: Repetition;
      /** Time left if every group stops at the rounds planned so far. */
      etaSeconds: number | null;
      /** With adaptive rounds: the most it can take (the time budget, or every group at its maximum). */
      etaMaxSeconds: number | null;
    }
  | { type: 'rounds'; stop: GroupStop; target: number | null; more: boolean }
  | { type: 'warning'; message: string };

export interface BenchOptions {
  suite: Suite;
  scenarios: Scenario[];
  profileName: string;
  profile: Profile;
  /** The tool forced by --tool; otherwise the profile's first installed preference. */
  tool: LoadToolName | undefined;
  outDir: string;
  argv: string[];
  runId: string;
  scaleupVersion: string;
  repoDir: string;
  /** Where the servers listen (this machine's loopback unless told otherwise). */
  host?: string;
  /** Where the servers run; this machine when absent. */
  place?: ServerPlace;
  /** Load and server hosts over ssh; everything runs here when absent or empty. */
  remote?: RemoteOptions;
  signal: AbortSignal;
  onEvent: (event: BenchEvent) => void;
  /** Injected clock for tests; defaults to the real one. */
  now?: () => Date;
}

export class BenchInterrupted extends Error {
  override name = 'BenchInterrupted';
}

function pickTool(tools: ToolInfo[], preferences: readonly LoadToolName[], forced: LoadToolName | undefined) {
  const available = (name: LoadToolName) => tools.find((t) => t.name === name && t.missing === null);
  if (forced !== undefined) {
    const tool = tools.find((t) => t.name === forced);
    if (!available(forced)) {
      throw new UsageError(`--tool ${forced} is not available: ${tool?.missing ?? 'unknown tool'}`);
    }
    return { name: forced, warnings: [] as string[] };
  }
  const warnings: string[] = [];
  for (const name of preferences) {
    if (available(name)) return { name, warnings };
    const missing = tools.find((t) => t.name === name)?.missing ?? 'not found';
    warnings.push(`load tool ${name} skipped: ${missing}`);
  }
  throw new UsageError(`none of the profile's load tools (${preferences.join(', ')}) is available`);
}

/** The load of one run at one point; warm-ups are shorter, measured runs follow the profile. */
export function loadSpecFor(
  profile: Profile,
  input: {
    url: string;
    payloadBytes: number;
    connections: number;
    cpus: number[] | undefined;
    allowedTargets?: string[];
  },
  warmup: boolean,
): LoadSpec {
  const { connections } = input;
  const spec: LoadSpec = {
    url: input.url,
    connections,
    threads: Math.min(profile.threads, connections),
    keepAlive: profile.keepAlive,
    method: 'GET',
    headers: {},
    timeoutSeconds: profile.timeoutSeconds,
    cpus: input.cpus,
    expectedBodyBytes: input.payloadBytes,
    ...(input.allowedTargets === undefined || input.allowedTargets.length === 0
      ? {}
      : { allowedTargets: input.allowedTargets }),
  };
  if (profile.durationSeconds !== undefined) {
    // Whole seconds: wrk and h2load take no fractions.
    spec.durationSeconds = warmup ? Math.max(1, Math.ceil(profile.warmupSeconds)) : profile.durationSeconds;
  } else {
    const requests = profile.requests!;
    // Count-only tools get a warm-up sized like warmupSeconds at a modest 50k req/s.
    spec.requests = warmup
      ? Math.max(connections, Math.min(requests, Math.round(50_000 * profile.warmupSeconds)))
      : requests;
  }
  return spec;
}

function loadPlanOf(profile: Profile, plan: Plan, tool: LoadToolName, loadHosts: string[]): LoadPlan {
  return {
    tool,
    requests: profile.requests ?? null,
    durationSeconds: profile.durationSeconds ?? null,
    connections: plan.sweep.connections[0]!,
    baselineConnections: plan.sweep.connections.length === 1 ? (profile.baselineConnections ?? null) : null,
    threads: profile.threads,
    keepAlive: profile.keepAlive,
    repetitions: profile.repetitions,
    warmupRuns: profile.warmupRuns,
    warmupSeconds: profile.warmupSeconds,
    sweep: plan.sweep,
    adaptive: plan.adaptive,
    confidenceTarget: profile.confidence,
    loadHosts,
  };
}

function plannedResult(
  instance: PlannedInstance,
  group: PlanGroup | null,
  profile: Profile,
  nginxInfo: Environment['nginx'],
): ScenarioResult {
  const planned = group?.servers.find((s) => s.key === instance.serverKey) ?? {
    key: instance.serverKey,
    scenario: instance.scenario,
    workers: instance.point.workers,
    serverCpus: instance.point.serverCpus,
    accept: instance.point.accept,
  };
  return {
    id: instance.id,
    scenarioId: instance.scenario.id,
    compareAs: instance.scenario.compareAs ?? null,
    point: instance.point,
    serverHost: 'local',
    label: instance.scenario.label,
    payloadBytes: instance.scenario.payloadBytes,
    group: `${instance.scenario.payloadBytes}B`,
    baseline: instance.scenario.baseline,
    server: describePlanned(planned, profile, nginxInfo),
    url: null,
    skipped: null,
    verification: null,
    warmup: null,
    repetitions: [],
    summary: null,
  };
}

/** Everything a group's steps share. */
interface RunContext {
  options: BenchOptions;
  deps: RunnerDeps;
  plan: Plan;
  store: ResultsStore;
  tool: LoadToolPort;
  nginxInfo: Environment['nginx'];
  quotaGroup: CpuQuotaGroup | null;
  topology: Topology;
  allCpus: number[];
  /** The cores the servers' host has, for their utilisation when unpinned. */
  serverCores: number;
  place: ServerPlace;
  allowedTargets: string[];
  rawDir: string;
  logDir: string;
  now: () => Date;
  progress: { index: number; finished: number; elapsedInRuns: number; expectedRuns: number };
  /**
   * The profile's time budget for measured rounds beyond the minimum (startup and warm-up are
   * not counted): what was spent in finished groups, and when the current group's rounds began.
   */
  budget: { totalSeconds: number; spentSeconds: number; groupStartedAt: number | null } | null;
}

function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw new BenchInterrupted(String(signal.reason ?? 'interrupted'));
}

/**
 * Runs the plan: per payload group, start every server of every point, verify it, warm each
 * point up, then measure round by round (A B C A B C ...), adding rounds while the intervals are
 * wider than the target when adaptive. results.json is rewritten after every repetition, so an
 * interruption loses nothing already measured.
 */
export async function runBench(options: BenchOptions, deps: RunnerDeps): Promise<ResultsFile> {
  const remote = options.remote;
  const wantsHosts = remote !== undefined && (remote.loadHosts.length > 0 || remote.serverHost !== null);
  if (wantsHosts && remote.serverHost !== null && options.profile.serverCpuQuotaCores !== undefined) {
    throw new UsageError(
      '--server-quota caps servers on this machine with a cgroup; it cannot cap a --server-host',
    );
  }
  // Every host is checked, all problems reported at once, before anything starts or is written.
  const prepared = wantsHosts
    ? await prepareHosts({
        ...remote,
        connections: peakConnections(options.profile),
        needNginx: options.scenarios.some((s) => s.server.kind === 'nginx'),
      })
    : null;
  try {
    return await runOnHosts(options, deps, prepared);
  } finally {
    // Stops whatever is still running on every host and closes the connections.
    await prepared?.close();
  }
}

async function runOnHosts(
  options: BenchOptions,
  deps: RunnerDeps,
  prepared: PreparedHosts | null,
): Promise<ResultsFile> {
  const now = options.now ?? (() => new Date());
  const place = prepared?.place ?? options.place ?? localPlace(options.host ?? '127.0.0.1');
  // On other hosts the local CPU split means nothing: servers and tools have their own cores.
  const profile: Profile = prepared === null ? options.profile : { ...options.profile, pinning: 'none' };
  const rawDir = join(options.outDir, 'raw');
  const logDir = join(options.outDir, 'logs');

  const [tools, nginxInfo] = await Promise.all([deps.detectTools(), deps.nginx.detect()]);
  const chosen = pickTool(prepared?.loadTools ?? tools, profile.tools, options.tool);
  const tool =
    prepared?.load != null
      ? remoteLoadPort({
          hosts: prepared.load,
          tool: chosen.name,
          version: prepared.loadTools?.find((t) => t.name === chosen.name)?.version ?? 'unknown',
        })
      : await deps.loadTool(chosen.name);
  const allCpus = allowedCpus();
  const serverHostCores =
    prepared?.environments.find((e) => e.roles.includes('server'))?.logicalCores ?? null;
  const planCpus =
    serverHostCores === null || serverHostCores === 0
      ? allCpus
      : Array.from({ length: serverHostCores }, (_, i) => i);
  const plan = buildPlan({ scenarios: options.scenarios, profile, cpus: planCpus });
  if (plan.groups.length === 0 && plan.skipped.length > 0) {
    throw new UsageError(
      `no point of the plan can run here: ${plan.skipped[0]!.id}: ${plan.skipped[0]!.reason}`,
    );
  }
  const topology = describeTopology(
    planTopology(profile.pinning, allCpus, profile.serverCpuQuotaCores ?? null),
    plan,
  );

  // Refuse a spec the tool cannot run before any server starts.
  for (const connections of plan.sweep.connections) {
    tool.validate(
      loadSpecFor(
        profile,
        { url: `http://${place.urlAddress}:1/`, payloadBytes: 0, connections, cpus: undefined },
        false,
      ),
    );
  }
  // Also before anything is written: without root or a cpu controller the run cannot be what
  // the profile asks for. (An empty group a crash leaves behind costs nothing.)
  const quotaGroup =
    profile.serverCpuQuotaCores === undefined
      ? null
      : await CpuQuotaGroup.create(profile.serverCpuQuotaCores);
  await mkdir(rawDir, { recursive: true });
  await mkdir(logDir, { recursive: true });

  const environment = await collectEnvironment({ nginx: nginxInfo, tools, repoDir: options.repoDir });
  const tuning = checkTuningFor(environment, profile);
  const scenarios: ScenarioResult[] = [];
  for (const scenario of options.scenarios) {
    for (const group of plan.groups) {
      for (const instance of group.instances) {
        if (instance.scenario.id === scenario.id)
          scenarios.push(plannedResult(instance, group, profile, nginxInfo));
      }
    }
    for (const skipped of plan.skipped.filter((s) => s.scenario.id === scenario.id)) {
      const result = plannedResult(
        { id: skipped.id, scenario, point: skipped.point, serverKey: '', baselineId: null },
        null,
        profile,
        nginxInfo,
      );
      result.skipped = skipped.reason;
      scenarios.push(result);
    }
  }
  const results: ResultsFile = {
    schema: RESULTS_SCHEMA_ID,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    complete: false,
    interrupted: null,
    run: {
      id: options.runId,
      startedAt: now().toISOString(),
      finishedAt: null,
      profile: options.profileName,
      suite: options.suite.suite,
      argv: options.argv,
      scaleupVersion: options.scaleupVersion,
      source: 'measured',
    },
    environment,
    hosts: prepared?.environments ?? [],
    tuning,
    topology,
    plan: loadPlanOf(profile, plan, chosen.name, prepared?.load?.map((l) => l.host.name) ?? ['local']),
    scenarios,
    stopping: [],
    scaling: [],
    warnings: [
      ...chosen.warnings,
      ...tuningWarnings(tuning, peakConnections(profile)),
      // Every host's tuning limits its part of the run as this machine's does.
      ...(prepared?.environments ?? []).flatMap((host) =>
        tuningWarnings(host.tuning, peakConnections(profile)).map((w) => `${host.name}: ${w}`),
      ),
      ...sweepWarnings(profile, plan, allCpus),
    ],
  };
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
    tool: chosen.name,
    topology,
    outDir: options.outDir,
    points: plan.groups.reduce((sum, g) => sum + g.instances.length, 0),
  });
  const context: RunContext = {
    options,
    deps,
    plan,
    store,
    tool,
    nginxInfo,
    quotaGroup,
    topology,
    allCpus,
    serverCores: planCpus.length,
    place,
    allowedTargets: prepared?.allowedTargets ?? [],
    rawDir,
    logDir,
    now,
    progress: { index: 0, finished: 0, elapsedInRuns: 0, expectedRuns: plannedRuns(plan) },
    budget:
      plan.adaptive?.timeBudgetSeconds == null
        ? null
        : { totalSeconds: plan.adaptive.timeBudgetSeconds, spentSeconds: 0, groupStartedAt: null },
  };

  try {
    for (const [index, group] of plan.groups.entries()) {
      await runGroup(context, group, plan.groups.slice(index));
    }
    for (const result of results.scenarios) {
      if (result.skipped === null && result.repetitions.length === 0) result.skipped = 'no repetition ran';
    }
    for (const message of saturatedToolWarnings(results.scenarios)) store.warn(message);
    const steal = stealWarning(results.scenarios);
    if (steal !== null) store.warn(steal);
    results.complete = true;
    results.run.finishedAt = now().toISOString();
    await store.save();
    return results;
  } catch (error) {
    results.complete = false;
    results.interrupted =
      error instanceof BenchInterrupted
        ? `interrupted: ${error.message}`
        : `failed: ${(error as Error).message}`;
    results.run.finishedAt = now().toISOString();
    if (!(error instanceof BenchInterrupted)) store.warn(results.interrupted);
    // Summaries are refreshed after every repetition, so what is saved here is already summarized.
    await store.save();
    throw error;
  } finally {
    // Every server has been stopped by now, so the group is empty and can go.
    await quotaGroup
      ?.remove()
      .catch((error: Error) => options.onEvent({ type: 'warning', message: error.message }));
  }
}

/**
 * A worker sweep this machine cannot give its CPUs collapses to fewer points; the report must say
 * so rather than show one point as if it were a curve.
 */
export function sweepWarnings(profile: Profile, plan: Plan, cpus: readonly number[]): string[] {
  const asked =
    profile.workers === 'powers-of-two' || (Array.isArray(profile.workers) && profile.workers.length > 1);
  if (!asked) return [];
  const runnable = new Set(plan.groups.flatMap((g) => g.instances.map((i) => i.point.workers)));
  if (runnable.size > 1) return [];
  const only = [...runnable][0];
  return [
    `worker sweep: with ${profile.pinning === 'split' ? 'split pinning' : 'these CPUs'} this ${cpus.length}-CPU machine can give the server side ` +
      `${only === undefined ? 'no point' : `only ${only} worker${only === 1 ? '' : 's'} on ${only} CPU${only === 1 ? '' : 's'}`}, so there is no curve: ` +
      '--no-pin lets more workers share the CPUs with the load tool, --server-cpus N fixes the server side at N CPUs, or a machine with more cores gives real points',
  ];
}

/** The run's topology line, with a note when points have CPU splits of their own. */
function describeTopology(base: Topology, plan: Plan): Topology {
  const splits = new Set(
    plan.groups.flatMap((g) => g.instances.map((i) => i.point.serverCpus?.join(',') ?? 'any')),
  );
  if (splits.size <= 1) {
    const first = plan.groups[0]?.instances[0]?.point;
    if (first === undefined || first.serverCpus === null) return base;
    return {
      ...base,
      serverCpus: first.serverCpus,
      loadCpus: first.loadCpus,
      description: `server and nginx pinned to CPU ${first.serverCpus.join(',')}; load tool pinned to CPU ${first.loadCpus?.join(',') ?? '(any)'}${base.serverCpuQuotaCores === null ? '' : `; servers capped at ${base.serverCpuQuotaCores} CPU by a cgroup quota`}`,
    };
  }
  return {
    ...base,
    serverCpus: null,
    loadCpus: null,
    description: `${base.description.split(';')[0]}; each sweep point pins the server side to its own CPUs (recorded per point)`,
  };
}

/** One payload group: servers up, verified and warm, then interleaved rounds until the plan says stop. */
async function runGroup(context: RunContext, group: PlanGroup, remainingGroups: readonly PlanGroup[]) {
  const { options, store } = context;
  const running = new Map<string, ServerUnderTest>();
  let round = 0;
  try {
    await startGroupServers(context, group, running);
    await warmUpGroup(context, group, running);
    const minRounds = context.plan.rounds.min;
    const maxRounds = context.plan.rounds.max;
    const target = context.plan.adaptive === null ? null : context.plan.adaptive.targetCiPercent / 100;
    const groupBudget = shareOfBudget(context.budget, group, remainingGroups);
    const roundsStarted = Date.now();
    if (context.budget !== null) context.budget.groupStartedAt = roundsStarted;
    let lastRoundSeconds = 0;
    for (;;) {
      const roundStarted = Date.now();
      for (const instance of group.instances) {
        const server = running.get(instance.serverKey);
        if (server === undefined || store.result(instance.id).skipped !== null) continue;
        await measureInstance(context, instance, server, round, Math.max(minRounds, round + 1));
      }
      round += 1;
      lastRoundSeconds = (Date.now() - roundStarted) / 1000;
      const decision = decideRounds({
        group: group.key,
        results: group.instances.map((i) => store.result(i.id)),
        roundsDone: round,
        minRounds,
        maxRounds,
        targetHalfWidth: target,
        confidenceTarget: context.plan.adaptive === null ? 0 : store.results.plan.confidenceTarget,
        outOfTime:
          groupBudget !== null && (Date.now() - roundsStarted) / 1000 + lastRoundSeconds > groupBudget,
      });
      const { stop, ...stopRecord } = decision;
      if (round >= minRounds && target !== null) {
        options.onEvent({ type: 'rounds', stop: stopRecord, target, more: !stop });
      }
      if (stop) {
        store.results.stopping.push(stopRecord);
        await store.save();
        if (context.budget !== null) {
          context.budget.spentSeconds += (Date.now() - roundsStarted) / 1000;
          context.budget.groupStartedAt = null;
        }
        break;
      }
      // Another round: the runs still expected grow by one round of this group.
      if (round >= minRounds) context.progress.expectedRuns += activeInstances(context, group).length;
    }
  } catch (error) {
    if (error instanceof BenchInterrupted) {
      store.results.stopping.push({
        group: group.key,
        rounds: round,
        stoppedBy: 'interrupted',
        worstHalfWidth: null,
        worstResult: null,
      });
    }
    throw error;
  } finally {
    await Promise.allSettled([...running.values()].map((s) => s.stop()));
  }
}

function activeInstances(context: RunContext, group: PlanGroup): PlannedInstance[] {
  return group.instances.filter((i) => context.store.result(i.id).skipped === null);
}

/** The budget left, in seconds, shared among the groups still to run by their number of points. */
function shareOfBudget(
  budget: RunContext['budget'],
  group: PlanGroup,
  remainingGroups: readonly PlanGroup[],
): number | null {
  if (budget === null) return null;
  const total = remainingGroups.reduce((sum, g) => sum + g.instances.length, 0);
  const left = Math.max(0, budget.totalSeconds - budget.spentSeconds);
  return (left * group.instances.length) / Math.max(1, total);
}

async function startGroupServers(
  context: RunContext,
  group: PlanGroup,
  running: Map<string, ServerUnderTest>,
) {
  const { options, store } = context;
  for (const planned of group.servers) {
    checkAbort(options.signal);
    const instances = group.instances.filter((i) => i.serverKey === planned.key);
    const skip = async (reason: string) => {
      for (const instance of instances) {
        store.result(instance.id).skipped = reason;
        options.onEvent({ type: 'scenario-skipped', scenarioId: instance.id, reason });
      }
      await store.save();
    };
    const server = await startServer(planned, {
      deps: context.deps,
      nginxInfo: context.nginxInfo,
      profile: options.profile,
      connections: Math.max(...instances.map((i) => i.point.connections)),
      backlog: SERVER_DEFAULT_BACKLOG,
      place: context.place,
      logDir: context.logDir,
    }).catch((error: Error) => error);
    if (server instanceof Error) {
      await skip(server.message);
      continue;
    }
    running.set(planned.key, server);
    if (context.quotaGroup !== null) {
      for (const p of await server.processes()) await context.quotaGroup.add(p.pid);
    }
    const exactStars = planned.scenario.server.kind !== 'command';
    const verification = await verifyServer(server.url, planned.scenario.payloadBytes, exactStars);
    for (const instance of instances) {
      const result = store.result(instance.id);
      result.url = server.url;
      result.server = mergeDescription(result.server, server.description);
      result.serverHost = server.host;
      result.verification = verification;
    }
    const sendWarning = zeroCopyWarning(planned.scenario, store.result(instances[0]!.id).server);
    if (sendWarning !== null) store.warn(sendWarning);
    if (!verification.ok) {
      await skip(`response check failed: ${verification.detail}`);
      await server.stop();
      running.delete(planned.key);
      continue;
    }
    for (const instance of instances) {
      options.onEvent({ type: 'server-ready', scenarioId: instance.id, url: server.url });
    }
  }
}

/** Warm-up after every server of the group is up, so the first measured round finds all warm. */
async function warmUpGroup(context: RunContext, group: PlanGroup, running: Map<string, ServerUnderTest>) {
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
      const load = await context.tool.run(spec, {
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

function specInput(context: RunContext, instance: PlannedInstance, server: ServerUnderTest) {
  return {
    url: server.url,
    payloadBytes: instance.scenario.payloadBytes,
    connections: instance.point.connections,
    cpus: instance.point.loadCpus ?? undefined,
    allowedTargets: context.allowedTargets,
  };
}

/** Ids like `2a@w2,c64` become file names without a comma or an at sign. */
function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}

async function measureInstance(
  context: RunContext,
  instance: PlannedInstance,
  server: ServerUnderTest,
  round: number,
  rounds: number,
) {
  const { options, store, progress } = context;
  checkAbort(options.signal);
  progress.index += 1;
  const result = store.result(instance.id);
  options.onEvent({
    type: 'rep-start',
    index: progress.index,
    runs: progress.expectedRuns,
    scenarioId: instance.id,
    round,
    rounds,
  });
  const started = Date.now();
  const repetition = await measureRepetition({
    server,
    payloadBytes: instance.scenario.payloadBytes,
    responseForms: result.verification?.responseForms ?? [],
    closeAfterRequests: result.verification?.closeAfterRequests ?? null,
    round,
    spec: loadSpecFor(options.profile, specInput(context, instance, server), false),
    tool: context.tool,
    rawOutputPath: join(context.rawDir, `${fileSafe(instance.id)}-r${round + 1}.txt`),
    // Under a quota the servers' budget is the quota, and busy is measured against it.
    serverCores:
      context.topology.serverCpuQuotaCores ?? instance.point.serverCpus?.length ?? context.serverCores,
    signal: options.signal,
    now: context.now,
    onProgress: (p) => options.onEvent({ type: 'rep-progress', scenarioId: instance.id, round, progress: p }),
  });
  checkAbort(options.signal);
  result.repetitions.push(repetition);
  progress.finished += 1;
  progress.elapsedInRuns += (Date.now() - started) / 1000;
  store.refresh();
  await store.save();
  options.onEvent({
    type: 'rep-done',
    index: progress.index,
    runs: progress.expectedRuns,
    scenarioId: instance.id,
    round,
    rounds,
    repetition,
    etaSeconds: estimateRemainingSeconds({
      remainingRuns: progress.expectedRuns - progress.index,
      finishedRuns: progress.finished,
      elapsedInRunsSeconds: progress.elapsedInRuns,
      plannedSecondsPerRun: options.profile.durationSeconds ?? null,
    }),
    etaMaxSeconds: adaptiveEtaBound(context),
  });
}

/** The most the rest of an adaptive run can take: every group at its maximum, within the budget. */
function adaptiveEtaBound(context: RunContext): number | null {
  const { plan, progress } = context;
  if (plan.adaptive === null) return null;
  const atMost = estimateRemainingSeconds({
    remainingRuns: Math.max(0, maximumRuns(plan) - progress.index),
    finishedRuns: progress.finished,
    elapsedInRunsSeconds: progress.elapsedInRuns,
    plannedSecondsPerRun: context.options.profile.durationSeconds ?? null,
  });
  const { budget } = context;
  if (budget === null) return atMost;
  const inGroup = budget.groupStartedAt === null ? 0 : (Date.now() - budget.groupStartedAt) / 1000;
  const budgetLeft = Math.max(0, budget.totalSeconds - budget.spentSeconds - inGroup);
  // The budget bounds the rounds beyond the minimum; those still owed come on top.
  const owed =
    Math.max(0, plannedRuns(plan) - progress.index) *
    (progress.finished > 0 ? progress.elapsedInRuns / progress.finished : 0);
  return atMost === null ? budgetLeft + owed : Math.min(atMost, budgetLeft + owed);
}

/**
 * The client-bound verdict needs a server with visible headroom; when both sides run flat out
 * (typical with one core each) it cannot say which one limits. Saying so lets a reader treat
 * the faster server's figure, and its ratio, as a lower bound.
 */
export function saturatedToolWarnings(scenarios: readonly ScenarioResult[]): string[] {
  const warnings: string[] = [];
  for (const s of scenarios) {
    const saturated = s.repetitions.filter((r) => (r.load.toolCpu?.utilisation ?? 0) >= CLIENT_SATURATED);
    if (saturated.length * 2 > s.repetitions.length) {
      warnings.push(
        `${s.id}: the load tool used >= ${CLIENT_SATURATED * 100}% of its cores in ${saturated.length} of ${s.repetitions.length} repetitions; ` +
          'the server may be faster than measured, so its figure and its ratio to the baseline are lower bounds',
      );
    }
  }
  return warnings;
}

/** Above this share of CPU time taken by the hypervisor, the run says the machine was noisy. */
export const NOISY_STEAL = 0.02;

/**
 * A virtual machine whose hypervisor takes CPU time (steal) swings from one repetition to the
 * next; saying how much it took lets a reader see why the intervals are wide.
 */
export function stealWarning(scenarios: readonly ScenarioResult[]): string | null {
  const values = scenarios.flatMap((s) =>
    s.repetitions.flatMap((r) => (r.stealFraction === null ? [] : [r.stealFraction])),
  );
  if (values.length === 0) return null;
  const typical = median(values);
  const worst = Math.max(...values);
  if (worst < NOISY_STEAL) return null;
  return (
    `the hypervisor took CPU time from this machine during the run (steal: median ${(typical * 100).toFixed(1)}%, ` +
    `up to ${(worst * 100).toFixed(1)}% of a repetition): a noisy virtual machine, which widens every interval; ` +
    'the paired ratios cancel much of it, absolute figures less'
  );
}

/**
 * Our server without its zero-copy addon sends large responses with write(), which measured about
 * 15% fewer req/s at 10 kB: a figure measured that way must not pass for the server's best.
 */
export function zeroCopyWarning(scenario: Scenario, server: ScenarioResult['server']): string | null {
  if (server.kind !== 'scaleup' || server.send !== 'auto' || server.zeroCopy) return null;
  if (scenario.payloadBytes < ZERO_COPY_MIN_BYTES) return null;
  return (
    `${scenario.id}: the server sent its ${scenario.payloadBytes} B responses with write(), not sendfile: ` +
    'the zero-copy addon is not built or did not load (pnpm build:native; the server log says why)'
  );
}
