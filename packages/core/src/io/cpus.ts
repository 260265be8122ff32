import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Expands a kernel CPU list such as "0-3,6" into [0,1,2,3,6]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || Number.isNaN(from)) continue;
    for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** CPUs this process may run on (its affinity mask), falling back to 0..n-1. */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
    if (match?.[1]) return parseCpuList(match[1]);
  } catch {
    // Not Linux: fall through.
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}
