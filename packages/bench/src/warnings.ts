import {
  type HostEnvironment,
  median,
  type Plan,
  type Profile,
  type Scenario,
  type ScenarioResult,
  type TuningCheck,
  ZERO_COPY_MIN_BYTES,
} from '@scaleup/core';
import { peakConnections, tuningWarnings } from './tuning.ts';
import { CLIENT_SATURATED } from './verdict.ts';

/**
 * What a run says before it measures: the tools it passed over, this machine's and every
 * host's tuning shortfalls (each limits its part of the run), and a sweep that collapsed.
 */
export function openingWarnings(input: {
  toolWarnings: readonly string[];
  tuning: readonly TuningCheck[];
  hosts: readonly HostEnvironment[];
  profile: Profile;
  plan: Plan;
  cpus: readonly number[];
}): string[] {
  const connections = peakConnections(input.profile);
  return [
    ...input.toolWarnings,
    ...tuningWarnings(input.tuning, connections),
    ...input.hosts.flatMap((host) =>
      tuningWarnings(host.tuning, connections).map((w) => `${host.name}: ${w}`),
    ),
    ...sweepWarnings(input.profile, input.plan, input.cpus),
  ];
}

/** What a finished run adds: a saturated load tool, a noisy machine. */
export function closingWarnings(scenarios: readonly ScenarioResult[]): string[] {
  const steal = stealWarning(scenarios);
  return [...saturatedToolWarnings(scenarios), ...(steal === null ? [] : [steal])];
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
