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
export { weighttp } from './adapters/weighttp.ts';
export { WRK_SUMMARY_SCRIPT, wrk } from './adapters/wrk.ts';
export { ChildCpuMeter, type CpuSeconds, reapedChildrenCpu } from './cpu.ts';
export { histogramQuantile, mergeHistograms, mergeLoads } from './merge.ts';
export {
  bodyBytesFit,
  finishResult,
  loadProblems,
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
