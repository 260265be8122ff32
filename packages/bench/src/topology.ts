import type { Topology } from '@scaleup/core';

/**
 * Splits the CPUs between the servers and the load tool. On two cores: servers (and nginx) on
 * one, the tool on the other, so neither steals the other's cycles. With one CPU nothing can be
 * split and the run is unpinned, which the topology says.
 */
export function planTopology(
  pinning: 'split' | 'none',
  cpus: readonly number[],
  serverCpuQuotaCores: number | null = null,
): Topology {
  const quota =
    serverCpuQuotaCores === null ? '' : `; servers capped at ${serverCpuQuotaCores} CPU by a cgroup quota`;
  if (pinning === 'none') {
    return {
      pinned: false,
      serverCpus: null,
      loadCpus: null,
      serverCpuQuotaCores,
      calibration: null,
      description: `unpinned on ${cpus.length} CPUs (as the seed ran)${quota}`,
    };
  }
  if (cpus.length < 2) {
    return {
      pinned: false,
      serverCpus: null,
      loadCpus: null,
      serverCpuQuotaCores,
      calibration: null,
      description: `unpinned: only ${cpus.length} CPU available, nothing to split${quota}`,
    };
  }
  const serverShare = Math.floor(cpus.length / 2);
  const serverCpus = cpus.slice(0, serverShare);
  const loadCpus = cpus.slice(serverShare);
  return {
    pinned: true,
    serverCpus,
    loadCpus,
    serverCpuQuotaCores,
    calibration: null,
    description: `server and nginx pinned to CPU ${serverCpus.join(',')}; load tool pinned to CPU ${loadCpus.join(',')}${quota}`,
  };
}
