import { readFileSync } from 'node:fs';
import { processExists, procStatFields } from './proc.ts';

/** Shells a package manager puts between itself and a script (`pnpm x` runs `sh -c '...'`). */
const WRAPPER_SHELLS = new Set(['sh', 'dash', 'bash']);

function commandName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

function parentOf(pid: number): number | null {
  try {
    const parent = Number(procStatFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1]);
    return Number.isInteger(parent) && parent > 0 ? parent : null;
  } catch {
    return null;
  }
}

/**
 * The processes whose death means this one should stop: its parent, and when the parent is a
 * shell wrapper, the package manager (or other launcher) behind it. pnpm does not forward SIGTERM
 * to its script, so without this `kill <pnpm pid>` (what supervisors and CI runners do) would
 * leave the benchmark, the server and all its workers running unattended.
 */
export function launcherPids(pid = process.pid, parent = process.ppid): number[] {
  const pids: number[] = [];
  if (parent <= 1) return pids;
  pids.push(parent);
  const name = commandName(parent);
  if (name !== null && WRAPPER_SHELLS.has(name)) {
    const grandparent = parentOf(parent);
    if (grandparent !== null && grandparent > 1 && grandparent !== pid) pids.push(grandparent);
  }
  return pids;
}

let stopping = false;

/**
 * A command that has begun to stop on a signal says so. The launcher's death usually comes with
 * that same signal (`kill` of the process group, a supervisor signalling every pid), and the
 * watcher must not then signal again: the command would take it for an impatient second signal
 * and exit at once, skipping its cleanup.
 */
export function noteStopping(): void {
  stopping = true;
}

/**
 * Calls `onGone` once, soon after the process that launched this one has gone (the parent was
 * reaped and this process reparented, or the launcher behind a wrapper shell died). Returns a
 * function that stops watching. The timer does not keep the process alive.
 */
export function watchLauncher(onGone: (why: string) => void, intervalMs = 250): () => void {
  const parent = process.ppid;
  const watched = launcherPids(process.pid, parent);
  if (watched.length === 0) return () => {};
  const timer = setInterval(() => {
    const reparented = process.ppid !== parent;
    const dead = watched.find((pid) => !processExists(pid));
    if (!reparented && dead === undefined) return;
    clearInterval(timer);
    if (stopping) return;
    onGone(reparented ? `its parent (pid ${parent}) went away` : `its launcher (pid ${dead}) went away`);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
