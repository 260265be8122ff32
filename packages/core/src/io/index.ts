export { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
export { allowedCpus, parseCpuList } from './cpus.ts';
export {
  httpGet,
  type ProbeResponse,
  probeResponseForms,
  type ResponseFormsProbe,
  rawResponseBytes,
} from './http-probe.ts';
export { launcherPids, noteStopping, watchLauncher } from './launcher.ts';
export {
  type BuildResult,
  buildNative,
  compilerCommand,
  type NativeBuild,
  nativeBuildMain,
} from './native-build.ts';
export { allocatePort, isPortFree } from './ports.ts';
export {
  CLOCK_TICKS_PER_SECOND,
  childPids,
  isAlive,
  type ProcessCpu,
  ProcessCpuReader,
  parseProcessCpu,
  pidsMatching,
  processExists,
  procStatFields,
  readProcessCpu,
} from './proc.ts';
export { type SupervisedCommand, supervisedCommand } from './supervise.ts';
export { waitFor } from './wait.ts';
