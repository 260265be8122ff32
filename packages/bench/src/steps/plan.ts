import {
  buildPlan,
  type LoadToolName,
  type Plan,
  type Profile,
  type ToolInfo,
  type Topology,
  UsageError,
} from '@scaleup/core';
import { allowedCpus } from '@scaleup/core/io';
import { loadSpecFor } from '../load-spec.ts';
import type { BenchOptions, LoadToolPort, RunnerDeps } from '../ports.ts';
import { remoteLoadPort } from '../remote-load.ts';
import { localPlace } from '../servers.ts';
import { planTopology } from '../topology.ts';
import type { PlannedRun } from './context.ts';
import type { PreparedHosts } from './prepare-hosts.ts';

/** The plan step's outcome, with what the results record of how it was reached. */
export interface RunPlan extends PlannedRun {
  /** Every tool this machine knows, for its environment. */
  tools: ToolInfo[];
  toolName: LoadToolName;
  toolWarnings: string[];
  /** The CPUs this process may use. */
  allCpus: number[];
}

/**
 * Chooses the tool, computes the plan (every scenario at every sweep point, points the server's
 * host cannot give their CPUs skipped) and the topology, and refuses a spec the tool cannot run,
 * all before any server starts.
 */
export async function planRun(
  options: BenchOptions,
  deps: RunnerDeps,
  prepared: PreparedHosts | null,
): Promise<RunPlan> {
  const place = prepared?.place ?? options.place ?? localPlace(options.host ?? '127.0.0.1');
  // On other hosts the local CPU split means nothing: servers and tools have their own cores.
  const profile: Profile = prepared === null ? options.profile : { ...options.profile, pinning: 'none' };
  const [tools, nginxInfo] = await Promise.all([deps.detectTools(), deps.nginx.detect()]);
  const rates = profile.rates !== undefined;
  // With rates --tool openloop names the measured rounds' tool; warm-up still needs a closed-loop one.
  const forced = rates && options.tool === 'openloop' ? undefined : options.tool;
  const chosen = pickTool(
    prepared?.loadTools ?? tools,
    profile.tools.filter((t) => !rates || t !== 'openloop'),
    forced,
  );
  const rateTool = rates ? await openRateTool(deps, prepared, tools) : null;
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
    const input = { url: `http://${place.urlAddress}:1/`, payloadBytes: 0, connections, cpus: undefined };
    tool.validate(loadSpecFor(profile, input, rateTool !== null));
    rateTool?.validate(loadSpecFor(profile, { ...input, ratePerSecond: 1000 }, false));
  }
  return {
    profile,
    plan,
    tool,
    rateTool,
    topology,
    place,
    nginxInfo,
    serverCores: planCpus.length,
    allowedTargets: prepared?.allowedTargets ?? [],
    tools,
    toolName: chosen.name,
    toolWarnings: chosen.warnings,
    allCpus,
  };
}

/**
 * The constant-rate tool a rate sweep's measured rounds run, here or on the load hosts; without
 * it the run is refused before anything starts.
 */
async function openRateTool(
  deps: RunnerDeps,
  prepared: PreparedHosts | null,
  tools: ToolInfo[],
): Promise<LoadToolPort> {
  const known = (prepared?.loadTools ?? tools).find((t) => t.name === 'openloop');
  if (known === undefined || known.missing !== null) {
    const where = prepared?.load != null ? ' on the load hosts' : '';
    throw new UsageError(
      `--rates needs openloop, scaleup's constant-rate tool${where}: ${known?.missing ?? 'not found'}`,
    );
  }
  return prepared?.load != null
    ? remoteLoadPort({ hosts: prepared.load, tool: 'openloop', version: known.version ?? 'unknown' })
    : deps.loadTool('openloop');
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
