import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Environment,
  groupByPayload,
  interleave,
  type LoadPlan,
  type LoadResult,
  type LoadSpec,
  type LoadToolName,
  type ProcessCpuSample,
  type Profile,
  RESULTS_SCHEMA_ID,
  RESULTS_SCHEMA_VERSION,
  type Repetition,
  type ResultsFile,
  type Scenario,
  type ScenarioResult,
  SERVER_DEFAULT_BACKLOG,
  type Suite,
  serializeResults,
  type ToolInfo,
  type Topology,
  UsageError,
  ZERO_COPY_MIN_BYTES,
} from '@scaleup/core';
import { allowedCpus, httpGet, rawResponseBytes, readProcessCpu, writeFileAtomic } from '@scaleup/core/io';
import { CpuQuotaGroup } from './cgroup.ts';
import { collectEnvironment } from './environment.ts';
import { estimateRemainingSeconds } from './eta.ts';
import { tcpCounterDelta } from './kernel.ts';
import { type ServerUnderTest, startCommandServer, startScaleupServer } from './servers.ts';
import { summarizeScenario } from './summary.ts';
import { readTcpCounters } from './tcp.ts';
import { planTopology, resolveWorkers } from './topology.ts';
import { checkTuningFor, peakConnections, tuningWarnings } from './tuning.ts';
import { CLIENT_SATURATED, judgeRepetition } from './verdict.ts';

/** What the runner needs from a load tool; the driver package provides it. */
export interface LoadToolPort {
  name: LoadToolName;
  version: string;
  /** Throws a UsageError-like error for a spec the tool cannot run, before anything starts. */
  validate(spec: LoadSpec): void;
  run(spec: LoadSpec, options: { rawOutputPath: string; signal: AbortSignal }): Promise<LoadResult>;
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
    host: string;
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
  | { type: 'plan'; runs: number; tool: LoadToolName; topology: Topology; outDir: string }
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
      etaSeconds: number | null;
    }
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
  host?: string;
  signal: AbortSignal;
  onEvent: (event: BenchEvent) => void;
  /** Injected clock for tests; defaults to the real one. */
  now?: () => Date;
}

export class BenchInterrupted extends Error {
  override name = 'BenchInterrupted';
}

/** The server must answer 200 with exactly these bytes before any load is spent on it. */
export async function verifyResponse(url: string, payloadBytes: number, exactStars: boolean) {
  try {
    const response = await httpGet(url, 5000);
    const bodyOk =
      response.body.length === payloadBytes && (!exactStars || response.body.every((byte) => byte === 0x2a));
    const ok = response.status === 200 && bodyOk;
    let detail: string | null = null;
    if (!ok) {
      detail =
        response.status !== 200
          ? `status ${response.status}`
          : `body is ${response.body.length} B${exactStars ? ' or not all "*"' : ''}, expected ${payloadBytes} B`;
    }
    return {
      status: response.status,
      bodyBytes: response.body.length,
      expectedBodyBytes: payloadBytes,
      responseBytes: ok ? await rawResponseBytes(url) : null,
      ok,
      detail,
    };
  } catch (error) {
    return {
      status: 0,
      bodyBytes: 0,
      expectedBodyBytes: payloadBytes,
      responseBytes: null,
      ok: false,
      detail: (error as Error).message,
    };
  }
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

function loadSpecFor(
  profile: Profile,
  url: string,
  payloadBytes: number,
  baseline: boolean,
  cpus: number[] | undefined,
  warmup: boolean,
): LoadSpec {
  const connections =
    baseline && profile.baselineConnections !== undefined ? profile.baselineConnections : profile.connections;
  const spec: LoadSpec = {
    url,
    connections,
    threads: Math.min(profile.threads, connections),
    keepAlive: profile.keepAlive,
    method: 'GET',
    headers: {},
    timeoutSeconds: profile.timeoutSeconds,
    cpus,
    expectedBodyBytes: payloadBytes,
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

async function sampleCpu(processes: { pid: number; role: ProcessCpuSample['role'] }[]) {
  const samples = await Promise.all(processes.map(async (p) => ({ ...p, cpu: await readProcessCpu(p.pid) })));
  return new Map(samples.filter((s) => s.cpu !== null).map((s) => [s.pid, s]));
}

/**
 * Runs the suite: per payload group, start every server, verify it, warm it up, then measure
 * round by round (A B C A B C ...). results.json is rewritten after every repetition, so an
 * interruption loses nothing already measured.
 */
export async function runBench(options: BenchOptions, deps: RunnerDeps): Promise<ResultsFile> {
  const now = options.now ?? (() => new Date());
  const host = options.host ?? '127.0.0.1';
  const { profile } = options;
  const resultsPath = join(options.outDir, 'results.json');
  const rawDir = join(options.outDir, 'raw');
  const logDir = join(options.outDir, 'logs');

  const [tools, nginxInfo] = await Promise.all([deps.detectTools(), deps.nginx.detect()]);
  const chosen = pickTool(tools, profile.tools, options.tool);
  const tool = await deps.loadTool(chosen.name);
  const allCpus = allowedCpus();
  const topology = planTopology(profile.pinning, allCpus, profile.serverCpuQuotaCores ?? null);
  const workers = resolveWorkers(profile.workers, topology, allCpus);
  const serverCpus = topology.serverCpus ?? undefined;
  const loadCpus = topology.loadCpus ?? undefined;
  const backlog = SERVER_DEFAULT_BACKLOG;

  // Refuse a spec the tool cannot run before any server starts.
  tool.validate(loadSpecFor(profile, `http://${host}:1/`, 0, false, loadCpus, false));
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
  const plan: LoadPlan = {
    tool: chosen.name,
    requests: profile.requests ?? null,
    durationSeconds: profile.durationSeconds ?? null,
    connections: profile.connections,
    baselineConnections: profile.baselineConnections ?? null,
    threads: profile.threads,
    keepAlive: profile.keepAlive,
    repetitions: profile.repetitions,
    warmupRuns: profile.warmupRuns,
    warmupSeconds: profile.warmupSeconds,
  };
  const groups = groupByPayload(options.scenarios);
  const scenarioResults = new Map<string, ScenarioResult>();
  for (const scenario of options.scenarios) {
    scenarioResults.set(scenario.id, {
      id: scenario.id,
      label: scenario.label,
      payloadBytes: scenario.payloadBytes,
      group: `${scenario.payloadBytes}B`,
      baseline: scenario.baseline,
      server: describePlanned(scenario, workers, profile, nginxInfo),
      url: null,
      skipped: null,
      verification: null,
      warmup: null,
      repetitions: [],
      summary: null,
    });
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
    },
    environment,
    tuning,
    topology,
    plan,
    scenarios: [...scenarioResults.values()],
    warnings: [...chosen.warnings, ...tuningWarnings(tuning, peakConnections(profile))],
  };
  const save = async () => {
    results.scenarios = options.scenarios.map((s) => scenarioResults.get(s.id)!);
    await writeFileAtomic(resultsPath, serializeResults(results));
  };
  const warn = (message: string) => {
    results.warnings.push(message);
    options.onEvent({ type: 'warning', message });
  };
  for (const message of results.warnings) options.onEvent({ type: 'warning', message });
  await save();

  const schedule = interleave(groups, profile.repetitions);
  options.onEvent({
    type: 'plan',
    runs: schedule.length,
    tool: chosen.name,
    topology,
    outDir: options.outDir,
  });
  let finishedRuns = 0;
  let elapsedInRuns = 0;
  let scheduleIndex = 0;
  const checkAbort = () => {
    if (options.signal.aborted) throw new BenchInterrupted(String(options.signal.reason ?? 'interrupted'));
  };

  try {
    for (const group of groups) {
      const running = new Map<string, ServerUnderTest>();
      try {
        for (const scenario of group.scenarios) {
          checkAbort();
          const result = scenarioResults.get(scenario.id)!;
          const server = await startScenarioServer(scenario, {
            deps,
            nginxInfo,
            workers,
            backlog,
            profile,
            cpus: serverCpus,
            host,
            logDir,
          }).catch((error: Error) => error);
          if (server instanceof Error) {
            result.skipped = server.message;
            options.onEvent({ type: 'scenario-skipped', scenarioId: scenario.id, reason: server.message });
            await save();
            continue;
          }
          running.set(scenario.id, server);
          if (quotaGroup !== null) {
            for (const p of await server.processes()) await quotaGroup.add(p.pid);
          }
          result.url = server.url;
          result.server = mergeDescription(result.server, server.description);
          const sendWarning = zeroCopyWarning(scenario, result.server);
          if (sendWarning !== null) warn(sendWarning);
          const exactStars = scenario.server.kind !== 'command';
          result.verification = await verifyResponse(server.url, scenario.payloadBytes, exactStars);
          if (!result.verification.ok) {
            result.skipped = `response check failed: ${result.verification.detail}`;
            options.onEvent({ type: 'scenario-skipped', scenarioId: scenario.id, reason: result.skipped });
            await server.stop();
            running.delete(scenario.id);
            await save();
            continue;
          }
          options.onEvent({ type: 'server-ready', scenarioId: scenario.id, url: server.url });
        }
        // Warm-up after every server of the group is up, so the first measured round finds all warm.
        for (const scenario of group.scenarios) {
          const server = running.get(scenario.id);
          if (server === undefined) continue;
          const result = scenarioResults.get(scenario.id)!;
          result.warmup = { runs: 0, requestsPerSecond: [] };
          for (let run = 0; run < profile.warmupRuns; run++) {
            checkAbort();
            const spec = loadSpecFor(
              profile,
              server.url,
              scenario.payloadBytes,
              scenario.baseline,
              loadCpus,
              true,
            );
            const load = await tool.run(spec, {
              rawOutputPath: join(rawDir, `${scenario.id}-warmup${run + 1}.txt`),
              signal: options.signal,
            });
            checkAbort();
            result.warmup.runs += 1;
            result.warmup.requestsPerSecond.push(load.requestsPerSecond);
            options.onEvent({
              type: 'warmup',
              scenarioId: scenario.id,
              run: run + 1,
              requestsPerSecond: load.requestsPerSecond,
            });
          }
          await save();
        }

        for (const planned of schedule.filter((s) => s.groupKey === group.key)) {
          scheduleIndex += 1;
          const scenario = group.scenarios.find((s) => s.id === planned.scenarioId)!;
          const server = running.get(scenario.id);
          if (server === undefined) continue;
          checkAbort();
          const result = scenarioResults.get(scenario.id)!;
          options.onEvent({
            type: 'rep-start',
            index: scheduleIndex,
            runs: schedule.length,
            scenarioId: scenario.id,
            round: planned.round,
            rounds: profile.repetitions,
          });
          const started = Date.now();
          const repetition = await measureRepetition({
            server,
            responseBytes: result.verification?.responseBytes ?? null,
            scenario,
            round: planned.round,
            spec: loadSpecFor(profile, server.url, scenario.payloadBytes, scenario.baseline, loadCpus, false),
            tool,
            rawOutputPath: join(rawDir, `${scenario.id}-r${planned.round + 1}.txt`),
            // Under a quota the servers' budget is the quota, and busy is measured against it.
            serverCores: topology.serverCpuQuotaCores ?? topology.serverCpus?.length ?? allCpus.length,
            signal: options.signal,
            now,
            onProgress: (progress) =>
              options.onEvent({
                type: 'rep-progress',
                scenarioId: scenario.id,
                round: planned.round,
                progress,
              }),
          });
          checkAbort();
          result.repetitions.push(repetition);
          finishedRuns += 1;
          elapsedInRuns += (Date.now() - started) / 1000;
          refreshSummaries(group.scenarios, scenarioResults);
          await save();
          options.onEvent({
            type: 'rep-done',
            index: scheduleIndex,
            runs: schedule.length,
            scenarioId: scenario.id,
            round: planned.round,
            rounds: profile.repetitions,
            repetition,
            etaSeconds: estimateRemainingSeconds({
              remainingRuns: schedule.length - scheduleIndex,
              finishedRuns,
              elapsedInRunsSeconds: elapsedInRuns,
              plannedSecondsPerRun: profile.durationSeconds ?? null,
            }),
          });
        }
      } finally {
        await Promise.allSettled([...running.values()].map((s) => s.stop()));
      }
    }
    for (const result of scenarioResults.values()) {
      if (result.skipped === null && result.repetitions.length === 0) result.skipped = 'no repetition ran';
    }
    for (const message of saturatedToolWarnings([...scenarioResults.values()])) warn(message);
    results.complete = true;
    results.run.finishedAt = now().toISOString();
    await save();
    return results;
  } catch (error) {
    results.complete = false;
    results.interrupted =
      error instanceof BenchInterrupted
        ? `interrupted: ${error.message}`
        : `failed: ${(error as Error).message}`;
    results.run.finishedAt = now().toISOString();
    if (!(error instanceof BenchInterrupted)) warn(results.interrupted);
    // Summaries are refreshed after every repetition, so what is saved here is already summarized.
    await save();
    throw error;
  } finally {
    // Every server has been stopped by now, so the group is empty and can go.
    await quotaGroup
      ?.remove()
      .catch((error: Error) => options.onEvent({ type: 'warning', message: error.message }));
  }
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

function refreshSummaries(scenarios: readonly Scenario[], results: Map<string, ScenarioResult>) {
  const baseline = scenarios.find((s) => s.baseline);
  for (const scenario of scenarios) {
    const result = results.get(scenario.id)!;
    if (result.repetitions.length === 0) continue;
    const baselineResult =
      baseline === undefined || baseline.id === scenario.id ? null : results.get(baseline.id)!;
    result.summary = summarizeScenario(
      result.repetitions,
      baselineResult === null ? null : { id: baselineResult.id, repetitions: baselineResult.repetitions },
    );
  }
}

function describePlanned(
  scenario: Scenario,
  workers: number,
  profile: Profile,
  nginxInfo: Environment['nginx'],
): ScenarioResult['server'] {
  const s = scenario.server;
  switch (s.kind) {
    case 'scaleup':
      return {
        kind: 'scaleup',
        resource: s.resource,
        accept: s.accept,
        workers,
        backlog: s.backlog,
        send: s.send,
        // Known once the server has started and said whether its addon loaded.
        zeroCopy: false,
      };
    case 'nginx':
      return {
        kind: 'nginx',
        preset: s.preset ?? profile.nginxPreset,
        workers,
        version: nginxInfo.version,
        settings: {},
      };
    case 'command':
      return { kind: 'command', command: s.command, cwd: s.cwd ?? null };
  }
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

/** Keeps what the plan knew and adds what the started server reported (nginx settings, argv). */
function mergeDescription(
  planned: ScenarioResult['server'],
  actual: ScenarioResult['server'],
): ScenarioResult['server'] {
  if (planned.kind === 'nginx' && actual.kind === 'nginx')
    return { ...planned, ...actual, version: actual.version ?? planned.version };
  return actual;
}

async function startScenarioServer(
  scenario: Scenario,
  context: {
    deps: RunnerDeps;
    nginxInfo: Environment['nginx'];
    workers: number;
    backlog: number;
    profile: Profile;
    cpus: number[] | undefined;
    host: string;
    logDir: string;
  },
): Promise<ServerUnderTest> {
  const s = scenario.server;
  const logPath = join(context.logDir, `${scenario.id}.log`);
  switch (s.kind) {
    case 'scaleup':
      return startScaleupServer({
        resource: s.resource,
        accept: s.accept,
        workers: context.workers,
        backlog: s.backlog,
        send: s.send,
        payloadBytes: scenario.payloadBytes,
        cpus: context.cpus,
        host: context.host,
        logPath,
      });
    case 'nginx': {
      if (context.nginxInfo.missing !== null) throw new Error(`nginx skipped: ${context.nginxInfo.missing}`);
      const connections = scenario.baseline
        ? (context.profile.baselineConnections ?? context.profile.connections)
        : context.profile.connections;
      return context.deps.nginx.start({
        payloadBytes: scenario.payloadBytes,
        workers: context.workers,
        preset: s.preset ?? context.profile.nginxPreset,
        connections,
        backlog: context.backlog,
        cpus: context.cpus,
        host: context.host,
        logPath,
      });
    }
    case 'command':
      return startCommandServer({
        command: s.command,
        cwd: s.cwd,
        env: s.env,
        readyUrl: s.readyUrl,
        url: s.url,
        readyTimeoutSeconds: s.readyTimeoutSeconds,
        payloadBytes: scenario.payloadBytes,
        workers: context.workers,
        host: context.host,
        cpus: context.cpus,
        logPath,
        probe: async (url) => (await verifyResponse(url, scenario.payloadBytes, false)).status !== 0,
      });
  }
}

/**
 * Live progress while a tool runs: elapsed time always; requests served and the current rate
 * where the server reports them (scaleup's stats file), since most tools print nothing until done.
 */
function progressTicker(
  server: ServerUnderTest,
  start: bigint,
  onProgress: (progress: LoadProgress) => void,
): () => void {
  let first: number | null | undefined;
  let previous: { requests: number; at: bigint } | null = null;
  const timer = setInterval(() => {
    void server.liveRequests().then((requests) => {
      const now = process.hrtime.bigint();
      if (first === undefined) first = requests;
      let rate: number | null = null;
      if (requests !== null && previous !== null && now > previous.at) {
        rate = ((requests - previous.requests) * 1e9) / Number(now - previous.at);
      }
      if (requests !== null) previous = { requests, at: now };
      onProgress({
        elapsedSeconds: Number(now - start) / 1e9,
        requestsDone: requests === null || first === null || first === undefined ? null : requests - first,
        requestsPerSecond: rate,
      });
    });
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

async function measureRepetition(input: {
  server: ServerUnderTest;
  responseBytes: number | null;
  scenario: Scenario;
  round: number;
  spec: LoadSpec;
  tool: LoadToolPort;
  rawOutputPath: string;
  serverCores: number;
  signal: AbortSignal;
  now: () => Date;
  onProgress: (progress: LoadProgress) => void;
}): Promise<Repetition> {
  const { server } = input;
  const startedAt = input.now().toISOString();
  const processes = await server.processes();
  const [cpuBefore, tcpBefore, workersBefore] = await Promise.all([
    sampleCpu(processes),
    readTcpCounters(),
    server.workerCounters(),
  ]);
  const wallStart = process.hrtime.bigint();
  const stopTicker = progressTicker(server, wallStart, input.onProgress);
  const load = await input.tool
    .run(input.spec, { rawOutputPath: input.rawOutputPath, signal: input.signal })
    .finally(stopTicker);
  const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const [cpuAfter, tcpAfter, workersAfter] = await Promise.all([
    sampleCpu(processes),
    readTcpCounters(),
    server.workerCounters(),
  ]);
  const serverCpu: ProcessCpuSample[] = [];
  for (const [pid, after] of cpuAfter) {
    const before = cpuBefore.get(pid);
    if (before === undefined || before.cpu === null || after.cpu === null) continue;
    serverCpu.push({
      pid,
      role: after.role,
      userSeconds: Math.max(0, after.cpu.userSeconds - before.cpu.userSeconds),
      systemSeconds: Math.max(0, after.cpu.systemSeconds - before.cpu.systemSeconds),
    });
  }
  const serverCpuSeconds = serverCpu.reduce((sum, p) => sum + p.userSeconds + p.systemSeconds, 0);
  const serverCpuUtilisation =
    serverCpu.length === 0 || wallSeconds <= 0 ? null : serverCpuSeconds / (wallSeconds * input.serverCores);
  let workers: Repetition['workers'] = null;
  if (workersBefore !== null && workersAfter !== null) {
    workers = workersAfter.map((after) => {
      // A respawned worker restarts its counters; count it from zero.
      const before = workersBefore.find((b) => b.slot === after.slot && b.pid === after.pid);
      return {
        slot: after.slot,
        pid: after.pid,
        requests: Math.max(0, after.requests - (before?.requests ?? 0)),
        connections: Math.max(0, after.connections - (before?.connections ?? 0)),
      };
    });
  }
  return {
    round: input.round,
    startedAt,
    load,
    serverCpu,
    serverCpuUtilisation,
    workers,
    tcp: tcpBefore !== null && tcpAfter !== null ? tcpCounterDelta(tcpBefore, tcpAfter) : null,
    verdict: judgeRepetition({
      load,
      expectedBodyBytes: input.scenario.payloadBytes,
      serverCpuUtilisation,
      inFlightResponses: input.spec.durationSeconds !== undefined ? input.spec.connections : 0,
      ...(input.spec.requests !== undefined ? { requestedCount: input.spec.requests } : {}),
      responseBytes: input.responseBytes,
    }),
  };
}
