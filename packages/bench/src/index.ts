export { decideRounds, type RoundsDecision, type RoundsDecisionInput } from './adaptive.ts';
export {
  type CgroupLayout,
  CPU_QUOTA_PERIOD_MICROSECONDS,
  CpuQuotaGroup,
  findCgroupLayout,
  quotaWrites,
} from './cgroup.ts';
export { createDefaultDeps } from './deps.ts';
export {
  collectEnvironment,
  countPhysicalCores,
  type MachineReading,
  parseOpenFilesLimit,
  readMachine,
} from './environment.ts';
export { estimateRemainingSeconds, formatDuration } from './eta.ts';
export { checkHosts, type HostCheck, type HostCheckOptions } from './host-check.ts';
export { type ImportOptions, importCaptures, importResults, readManifest } from './import.ts';
export { parseProcNetCounters, tcpCounterDelta, tcpCountersFrom } from './kernel.ts';
export { loadSpecFor } from './load-spec.ts';
export {
  measureHarnessOverhead,
  type OverheadOptions,
  type OverheadPair,
  type OverheadReport,
} from './overhead.ts';
export {
  type BenchEvent,
  BenchInterrupted,
  type BenchOptions,
  type CpuProfileMode,
  type LoadProgress,
  type LoadToolPort,
  type NginxPort,
  type RemoteOptions,
  type RunnerDeps,
} from './ports.ts';
export { createRunDirectory, runDirectoryName, updateLatestLink } from './results-dir.ts';
export { runBench } from './runner.ts';
export {
  contextSwitchDelta,
  readContextSwitches,
  SyscallCounter,
  type SyscallWindow,
} from './server-cost.ts';
export {
  allocatePortOn,
  localPlace,
  REPO_DIR,
  readLocalFile,
  type ServerPlace,
  type ServerUnderTest,
  scaleupCliCommand,
  startCommandServer,
  startScaleupServer,
} from './servers.ts';
export { type Verification, verifyServer } from './steps/verify.ts';
export { ResultsStore } from './store.ts';
export { DEFAULT_PROFILES_PATH, DEFAULT_SUITE_PATH, loadProfiles, loadSuite } from './suite-files.ts';
export { planTopology } from './topology.ts';
export {
  checkTuning,
  checkTuningFor,
  peakConnections,
  RECORDED_SYSCTLS,
  SEED_OPEN_FILES,
  SEED_SYSCTLS,
  type TuningInput,
  tuningWarnings,
} from './tuning.ts';
export { CLIENT_SATURATED, judgeRepetition, SERVER_HAS_ROOM, type VerdictInput } from './verdict.ts';
export { saturatedToolWarnings, stealWarning, zeroCopyWarning } from './warnings.ts';
