export {
  binaryCommand,
  type Detection,
  type LoadToolAdapter,
  parseWith,
  type RunReader,
  type ToolCommand,
} from './adapter.ts';
export { AUTOCANNON_CHILD, autocannon, autocannonOptions } from './adapters/autocannon.ts';
export { h2load } from './adapters/h2load.ts';
export { openloop, requestTimeoutSeconds } from './adapters/openloop.ts';
export { weighttp } from './adapters/weighttp.ts';
export { WRK_SUMMARY_SCRIPT, wrk } from './adapters/wrk.ts';
export { ChildCpuMeter, type CpuSeconds, reapedChildrenCpu } from './cpu.ts';
export { decodeHistogram, histogramPairs, mergeEncodedHistograms, OPENLOOP_HISTOGRAM } from './hdr.ts';
export { histogramQuantile, mergeHistograms, mergeLoads } from './merge.ts';
export {
  buildOpenloop,
  compilerArgs as openloopCompilerArgs,
  OPENLOOP_BINARY,
  OPENLOOP_ENV,
  OPENLOOP_SOURCE,
  openloopBinary,
} from './openloop-build.ts';
export {
  detectPerf,
  PERF_EVENT,
  PERF_INSTALL,
  PERF_SAMPLE_HZ,
  type PerfCount,
  type PerfDetection,
  PerfError,
  type PerfRecordPlan,
  type ProfileWindow,
  paranoidProblem,
  parsePerfStatCount,
  perfFailure,
  perfRecordArgs,
  perfScriptArgs,
  perfStatSyscallArgs,
  profileTargets,
  type RecordedProfile,
  recordProfile,
  SYSCALL_EVENT,
  startProfile,
} from './perf.ts';
export {
  bodyBytesFit,
  finishResult,
  loadProblems,
  MAX_LATE_SEND_SHARE,
  openLoopBehind,
  type ParsedRun,
  type ParseOptions,
  unreadableRun,
} from './result.ts';
export { prepareLoad, type RunLoadOptions, runLoad } from './runner.ts';
export {
  isAllowedTarget,
  isBenchmarkNetworkHost,
  isLoopbackHost,
  loadSpecProblems,
  validateLoadSpec,
} from './spec.ts';
export { adapterFor, defaultTool, detectTools, type ToolStatus, toolNamed } from './tools.ts';
