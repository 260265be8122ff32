import {
  type Environment,
  type HostEnvironment,
  type LoadPlan,
  type LoadToolName,
  type Plan,
  type PlanGroup,
  type PlannedInstance,
  type Profile,
  RESULTS_SCHEMA_ID,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile,
  type Scenario,
  type ScenarioResult,
  type Topology,
  type TuningCheck,
} from '@scaleup/core';
import type { BenchOptions } from './ports.ts';
import { describePlanned } from './steps/start.ts';

/**
 * results.json before anything is measured: the run, the machines, the plan and one result per
 * planned point (skipped ones with their reason), each waiting for its repetitions.
 */
export function resultsSkeleton(input: {
  options: BenchOptions;
  profile: Profile;
  plan: Plan;
  tool: LoadToolName;
  topology: Topology;
  environment: Environment;
  hosts: HostEnvironment[];
  loadHosts: string[];
  tuning: TuningCheck[];
  warnings: string[];
  startedAt: Date;
}): ResultsFile {
  const { options, profile, plan } = input;
  return {
    schema: RESULTS_SCHEMA_ID,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    complete: false,
    interrupted: null,
    run: {
      id: options.runId,
      startedAt: input.startedAt.toISOString(),
      finishedAt: null,
      profile: options.profileName,
      suite: options.suite.suite,
      argv: options.argv,
      scaleupVersion: options.scaleupVersion,
      source: 'measured',
    },
    environment: input.environment,
    hosts: input.hosts,
    tuning: input.tuning,
    topology: input.topology,
    plan: loadPlanOf(profile, plan, input.tool, input.loadHosts),
    scenarios: plannedResults(options.scenarios, plan, profile, input.environment.nginx),
    stopping: [],
    scaling: [],
    latencyCurves: [],
    warnings: input.warnings,
  };
}

/** In suite order: each scenario's runnable points, then its skipped ones. */
function plannedResults(
  scenarios: readonly Scenario[],
  plan: Plan,
  profile: Profile,
  nginxInfo: Environment['nginx'],
): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    for (const group of plan.groups) {
      for (const instance of group.instances) {
        if (instance.scenario.id === scenario.id)
          results.push(plannedResult(instance, group, profile, nginxInfo));
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
      results.push(result);
    }
  }
  return results;
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
    rates: plan.rates?.map((r) => r.text) ?? null,
    slo: plan.slo,
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
    profile: null,
    profileProblem: null,
  };
}
