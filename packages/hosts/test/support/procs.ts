import { readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAlive } from '@scaleup/core/io';
import type { HostProcess } from '../../src/index.ts';

export const FORKER = fileURLToPath(new URL('../fixtures/forker.mjs', import.meta.url));
export const OWN_HOST = fileURLToPath(new URL('../fixtures/own-host.ts', import.meta.url));

/** Waits until none of `pids` is alive (zombies count as gone: init here never reaps them); returns the ms it took. */
export async function waitGone(pids: number[], timeoutMs: number, what = 'processes'): Promise<number> {
  const started = Date.now();
  for (;;) {
    const alive: number[] = [];
    for (const pid of pids) if (await isAlive(pid)) alive.push(pid);
    if (alive.length === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`${what} still alive after ${timeoutMs} ms: ${alive.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function allAlive(pids: number[]): Promise<boolean> {
  for (const pid of pids) if (!(await isAlive(pid))) return false;
  return true;
}

/** The network namespace a process is in, as readlink /proc/PID/ns/net shows it. */
export function netnsOf(pid: number | 'self'): string {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

/** The process group of a pid (for checks that a command leads its own group). */
export function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Starts the forker fixture and collects the pids it reports, once it says it is ready. */
export async function startForker(
  spawnIt: (file: string, args: string[]) => HostProcess,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ proc: HostProcess; pid: number; children: number[] }> {
  const children: number[] = [];
  let proc: HostProcess | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    proc = spawnIt('node', [FORKER, ...args]);
    const timer = setTimeout(() => reject(new Error(`forker not ready within ${timeoutMs} ms`)), timeoutMs);
    proc.stdout.on('line', (line) => {
      const match = /^child (\d+)$/.exec(line);
      if (match) children.push(Number(match[1]));
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    void proc.exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`forker ended before it was ready: ${JSON.stringify(exit)}`));
    });
  });
  await ready;
  return { proc: proc!, pid: await proc!.started, children };
}
