import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux build that matters here. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessCpu {
  pid: number;
  userSeconds: number;
  systemSeconds: number;
}

/** CPU time of one process from /proc, or null when it is gone. */
export async function readProcessCpu(pid: number): Promise<ProcessCpu | null> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { pid, userSeconds: utime / CLOCK_TICKS_PER_SECOND, systemSeconds: stime / CLOCK_TICKS_PER_SECOND };
}

/** Direct children of a process, from /proc/<pid>/task/<pid>/children. */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(' ')
      .filter((s) => s.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** Whether a pid is alive and not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Pids whose command line contains `needle`; for tests that look for leftover processes. */
export async function pidsMatching(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}
