import type { Environment, Plan, Profile, Topology } from '@scaleup/core';
import type { TimeBudget } from '../budget.ts';
import type { CpuQuotaGroup } from '../cgroup.ts';
import type { BenchOptions, LoadToolPort, RunnerDeps } from '../ports.ts';
import type { RunProgress } from '../progress.ts';
import type { SyscallCounter } from '../server-cost.ts';
import type { ServerPlace } from '../servers.ts';
import type { ResultsStore } from '../store.ts';

/** What the plan step decided: the tool, the plan and where everything runs. */
export interface PlannedRun {
  /** The profile as run (on other hosts unpinned: their cores are their own). */
  profile: Profile;
  plan: Plan;
  tool: LoadToolPort;
  topology: Topology;
  place: ServerPlace;
  nginxInfo: Environment['nginx'];
  /** The cores the servers' host has, for their utilisation when unpinned. */
  serverCores: number;
  /** Addresses beyond loopback the load may target (a server host the user named). */
  allowedTargets: string[];
}

/** Everything a group's steps share; what changes as the run goes lives in its own objects. */
export interface RunContext {
  readonly options: BenchOptions;
  readonly deps: RunnerDeps;
  readonly run: PlannedRun;
  readonly store: ResultsStore;
  readonly quotaGroup: CpuQuotaGroup | null;
  readonly rawDir: string;
  readonly logDir: string;
  readonly progress: RunProgress;
  readonly budget: TimeBudget | null;
  readonly now: () => Date;
  /** Counts the servers' system calls per repetition, on their host. */
  readonly syscalls: SyscallCounter;
}
