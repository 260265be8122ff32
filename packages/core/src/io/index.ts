export { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
export { allocatePort, isPortFree } from './ports.ts';
export { readProcessCpu, childPids, isAlive, pidsMatching, type ProcessCpu } from './proc.ts';
export { waitFor } from './wait.ts';
export { httpGet, type ProbeResponse } from './http-probe.ts';
export { supervisedCommand, type SupervisedCommand } from './supervise.ts';
export { allowedCpus, parseCpuList } from './cpus.ts';
