import { readFile } from 'node:fs/promises';
import { childPids, isAlive, waitFor } from '@scaleup/core/io';
import type { ResultPromise } from 'execa';

export interface NginxExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

const STDERR_KEEP_BYTES = 16 * 1024;

/** Whether `promise` settles within `ms`; the timer is cleared so it never holds the process open. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function isNginxProcess(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).startsWith('nginx:');
  } catch {
    return false;
  }
}

/** Whether every one of `pids` is gone within `timeoutMs`. */
function allGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  return waitFor(
    async () => ((await Promise.all(pids.map((pid) => isAlive(pid)))).includes(true) ? undefined : true),
    { timeoutMs, intervalMs: 25, what: 'nginx workers to exit' },
  ).catch(() => false);
}

/**
 * A master that was SIGKILLed leaves its workers running (they are not told). Kill those still
 * alive, checking each pid is still an nginx process so a reused pid is never hit.
 * Returns the pids that would not die.
 */
async function killLeftoverWorkers(pids: readonly number[]): Promise<number[]> {
  if (await allGone(pids, 2000)) return [];
  for (const pid of pids) {
    if ((await isAlive(pid)) && (await isNginxProcess(pid))) signal(pid, 'SIGKILL');
  }
  if (await allGone(pids, 2000)) return [];
  const alive: number[] = [];
  for (const pid of pids) if (await isAlive(pid)) alive.push(pid);
  return alive;
}

/** What is known of a started nginx before it has a pid: its exit and its stderr. */
export interface WatchedSubprocess {
  pid: number | undefined;
  exited: Promise<NginxExit>;
  hasExited(): boolean;
  /** The last 16 kB nginx wrote on stderr. */
  stderr(): string;
}

export function watchSubprocess(subprocess: ResultPromise): WatchedSubprocess {
  let stderrText = '';
  let exitedFlag = false;
  subprocess.stderr?.on('data', (chunk: Buffer) => {
    stderrText = (stderrText + chunk.toString('utf8')).slice(-STDERR_KEEP_BYTES);
  });
  const exited: Promise<NginxExit> = subprocess.then(
    (result) => {
      exitedFlag = true;
      return { exitCode: result.exitCode, signal: result.signal };
    },
    () => {
      exitedFlag = true;
      return { exitCode: undefined, signal: undefined };
    },
  );
  return { pid: subprocess.pid, exited, hasExited: () => exitedFlag, stderr: () => stderrText };
}

/**
 * A running nginx master and every worker it was ever seen with: a master that is SIGKILLed does
 * not take its workers along, so stopping ends those too.
 */
export class NginxMaster {
  readonly pid: number;
  readonly #process: WatchedSubprocess;
  readonly #seenWorkers = new Set<number>();

  constructor(pid: number, watched: WatchedSubprocess) {
    this.pid = pid;
    this.#process = watched;
  }

  get exited(): Promise<NginxExit> {
    return this.#process.exited;
  }

  hasExited(): boolean {
    return this.#process.hasExited();
  }

  stderr(): string {
    return this.#process.stderr();
  }

  /** Current workers (children of the master). */
  workerPids(): Promise<number[]> {
    return childPids(this.pid);
  }

  /** Current workers, remembered for killLeftovers. */
  async rememberWorkers(): Promise<number[]> {
    const workers = await this.workerPids();
    for (const pid of workers) this.#seenWorkers.add(pid);
    return workers;
  }

  /** Ends the workers the master left behind; returns those that would not die. */
  killLeftovers(): Promise<number[]> {
    return killLeftoverWorkers([...this.#seenWorkers]);
  }

  /** Fast stop (SIGTERM, then SIGKILL after `termTimeoutMs`), for an nginx that never served. */
  async forceStop(termTimeoutMs: number): Promise<void> {
    await this.rememberWorkers();
    signal(this.pid, 'SIGTERM');
    const done = await settlesWithin(this.exited, termTimeoutMs);
    if (!done) signal(this.pid, 'SIGKILL');
    await this.exited;
    await this.killLeftovers();
  }

  /** Graceful (SIGQUIT), then fast (SIGTERM), then forced (SIGKILL); returns what ended it. */
  async stopGracefully(quitTimeoutMs: number, termTimeoutMs: number): Promise<'QUIT' | 'TERM' | 'KILL'> {
    await this.rememberWorkers();
    signal(this.pid, 'SIGQUIT');
    if (await settlesWithin(this.exited, quitTimeoutMs)) return 'QUIT';
    signal(this.pid, 'SIGTERM');
    if (await settlesWithin(this.exited, termTimeoutMs)) return 'TERM';
    signal(this.pid, 'SIGKILL');
    await this.exited;
    return 'KILL';
  }
}
