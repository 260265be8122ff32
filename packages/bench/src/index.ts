export {
  runBench,
  verifyResponse,
  BenchInterrupted,
  type BenchEvent,
  type BenchOptions,
  type LoadProgress,
  type LoadToolPort,
  type NginxPort,
  type RunnerDeps,
} from './runner.ts';
export { createDefaultDeps } from './deps.ts';
export { startScaleupServer, startCommandServer, scaleupCliCommand, REPO_DIR, type ServerUnderTest } from './servers.ts';
export { collectEnvironment, countPhysicalCores, parseOpenFilesLimit, readSysctl } from './environment.ts';
export { checkTuning, tuningWarnings, SEED_SYSCTLS, RECORDED_SYSCTLS, SEED_OPEN_FILES, type TuningInput } from './tuning.ts';
export { judgeRepetition, CLIENT_SATURATED, SERVER_HAS_ROOM, type VerdictInput } from './verdict.ts';
export { summarizeScenario, ratioToBaseline } from './summary.ts';
export { parseProcNetCounters, tcpCountersFrom, tcpCounterDelta } from './kernel.ts';
export { readTcpCounters } from './tcp.ts';
export { planTopology, resolveWorkers } from './topology.ts';
export { formatDuration, estimateRemainingSeconds } from './eta.ts';
export { runDirectoryName, createRunDirectory, updateLatestLink } from './results-dir.ts';
export { loadSuite, loadProfiles, DEFAULT_SUITE_PATH, DEFAULT_PROFILES_PATH } from './suite-files.ts';
