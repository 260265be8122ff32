import type { CalibrationMethod, Environment, Plan, Profile, Topology } from '@scaleup/core';
import type { TimeBudget } from '../budget.ts';
import type { CpuQuotaGroup } from '../cgroup.ts';
import type { Profiler } from '../cpu-profile.ts';
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
  /** The closed-loop tool: warm-up always, and the measured rounds of closed-loop points. */
  tool: LoadToolPort;
  /** The constant-rate tool the measured rounds of rate points run (bench --rates); null without. */
  rateTool: LoadToolPort | null;
  topology: Topology;
  place: ServerPlace;
  nginxInfo: Environment['nginx'];
  /** The cores the servers' host has, for their utilisation when unpinned. */
  serverCores: number;
  /** Addresses beyond loopback the load may target (a server host the user named). */
  allowedTargets: string[];
}

/**
 * What calibrating the current group changed, read by every load run and repetition after it.
 * tool-cores: the CPUs of the tool (one thread each) and of the servers; null: the plan's.
 * A server quota lives in the quota group itself.
 */
export interface CalibrationState {
  readonly method: CalibrationMethod;
  /** The topology's line as planned, before any calibration is added to it. */
  readonly description: string;
  loadCpus: number[] | null;
  serverCpus: number[] | null;
  /**
   * Under server-quota, each result's quota (the same for every server at one sweep point,
   * calibrate.ts calibrationUnits), set before each of its runs (quota.ts): points of one group
   * can need very different quotas (wrk at 1024 connections costs three times what it does at 16).
   */
  readonly quotas: Map<string, number | null>;
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
  /** --cpu-profile: perf for the run, or why there is none; null without the flag. */
  readonly profiler: Profiler | null;
  readonly calibration: CalibrationState;
}
