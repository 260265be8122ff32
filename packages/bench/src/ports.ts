import type {
  Environment,
  GroupStop,
  LoadSpec,
  LoadToolName,
  Profile,
  Repetition,
  RepetitionLoad,
  Scenario,
  ScenarioProfile,
  Suite,
  ToolInfo,
  Topology,
} from '@scaleup/core';
import type { PerfDetection } from '@scaleup/driver';
import type { ServerPlace, ServerUnderTest } from './servers.ts';

/**
 * What the executor's steps talk to: the interfaces the adapters implement (a load tool, nginx)
 * and the events a run reports. They live here, apart from the orchestrator, so that a step or an
 * adapter never imports the code that calls it.
 */

/** What the runner needs from a load tool; the driver package provides it. */
export interface LoadToolPort {
  name: LoadToolName;
  version: string;
  /** Throws a UsageError-like error for a spec the tool cannot run, before anything starts. */
  validate(spec: LoadSpec): void;
  run(
    spec: LoadSpec,
    options: {
      rawOutputPath: string;
      signal: AbortSignal;
      /** Hears the tool's pid once it runs on this machine (--cpu-profile tool samples it). */
      onSpawn?: (pid: number) => void;
    },
  ): Promise<RepetitionLoad>;
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
  /** Whether perf can record CPU profiles here; the driver's detectPerf when absent. */
  detectPerf?: () => Promise<PerfDetection>;
}

export type BenchEvent =
  | {
      type: 'plan';
      runs: number;
      maxRuns: number;
      tool: LoadToolName;
      /** A rate sweep's warm-up tool (closed loop) when it is not `tool`; null otherwise. */
      warmupTool: LoadToolName | null;
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
  /** A rate sweep's server after warm-up: its closed-loop capacity and each step's offered rate. */
  | {
      type: 'rates';
      server: string;
      capacityPerSecond: number | null;
      steps: { rateStep: string; offeredPerSecond: number | null }[];
    }
  /** What the calibration of a group decided, in one line. */
  | { type: 'calibration'; group: string; decision: string }
  /** A scenario's profiled repetition (--cpu-profile) is done: its profile, or why there is none. */
  | { type: 'profile'; scenarioId: string; profile: ScenarioProfile | null; problem: string | null }
  | { type: 'warning'; message: string };

/** Where a run's processes go: the hosts named on the command line, a profile or the suite. */
export interface RemoteOptions {
  /** ssh destinations (or Host names of the ssh config) that run the load tool. */
  loadHosts: string[];
  /** The ssh destination that runs the servers under test; null: this machine. */
  serverHost: string | null;
  sshConfig?: string | undefined;
  /** The checkout on the other hosts (default: the same absolute path as this one). */
  remoteDir?: string | undefined;
  /** The address the load reaches the servers at, instead of the one found. */
  serverAddress?: string | undefined;
}

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
  /**
   * --cpu-profile: one extra, uncounted repetition per scenario sampled with perf ('server': the
   * server's processes; 'tool': the load tool's too). Absent: no profiles.
   */
  cpuProfile?: CpuProfileMode | undefined;
}

export type CpuProfileMode = 'server' | 'tool';

export class BenchInterrupted extends Error {
  override name = 'BenchInterrupted';
}

/** Every step checks between runs: an aborted signal ends the run as interrupted. */
export function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw new BenchInterrupted(String(signal.reason ?? 'interrupted'));
}
