import { parseContextSwitches } from '@scaleup/core';
import { waitFor } from '@scaleup/core/io';
import { PERF_INSTALL, parsePerfStatCount, perfStatSyscallArgs, SYSCALL_EVENT } from '@scaleup/driver';
import { type Host, type HostProcess, signalOn, within } from '@scaleup/hosts';

/**
 * What a repetition's server costs beyond CPU time: its context switches (/proc/<pid>/status)
 * and its system calls (perf stat on the syscall tracepoint), both read on the server's own
 * host, so a --server-host run counts them where the server runs.
 */

/** Voluntary + involuntary switches of each process whose status could be read. */
export async function readContextSwitches(
  readFile: (path: string) => Promise<string | null>,
  pids: readonly number[],
): Promise<Map<number, number>> {
  const read = await Promise.all(
    pids.map(async (pid) => {
      const status = await readFile(`/proc/${pid}/status`);
      return [pid, status === null ? null : parseContextSwitches(status)] as const;
    }),
  );
  return new Map(read.filter((entry): entry is readonly [number, number] => entry[1] !== null));
}

/**
 * The switches over a repetition of the processes read both before and after (a worker respawned
 * meanwhile is a new pid and counts nowhere); null when none was.
 */
export function contextSwitchDelta(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number | null {
  let total = 0;
  let any = false;
  for (const [pid, end] of after) {
    const start = before.get(pid);
    if (start === undefined) continue;
    total += Math.max(0, end - start);
    any = true;
  }
  return any ? total : null;
}

/** An open count: stop() ends it and gives the count, or null with the reason. */
export interface SyscallWindow {
  stop(): Promise<{ count: number | null; problem: string | null }>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Counts the servers' system calls during each measured window with `perf stat`, on the servers'
 * host. Whether perf can count there is asked once; where it cannot (not installed, no access to
 * tracefs, not root), every window is null and the reason is warned of once.
 */
export class SyscallCounter {
  #usable: Promise<string | null> | undefined;
  readonly #warned = new Set<string>();

  constructor(
    private readonly host: Host,
    private readonly warn: (message: string) => void,
  ) {}

  /** Starts counting for `pids`, or null when perf cannot count here (warned once). */
  async start(pids: readonly number[], maxSeconds: number): Promise<SyscallWindow | null> {
    if (pids.length === 0) return null;
    this.#usable ??= this.#probe();
    const problem = await this.#usable;
    if (problem !== null) {
      this.#warnOnce(`system calls per response not counted: ${problem}`);
      return null;
    }
    const proc = this.host.spawn('perf', perfStatSyscallArgs(pids, Math.ceil(maxSeconds)), { graceMs: 1000 });
    const lines: string[] = [];
    proc.stderr.on('line', (line) => lines.push(line));
    proc.stdout.on('line', (line) => lines.push(line));
    let sleeper: number;
    try {
      sleeper = await this.#countingStarted(proc, lines);
    } catch (error) {
      await proc.stop(1000);
      this.#warnOnce(`system calls per response not counted: ${(error as Error).message}`);
      return null;
    }
    return {
      stop: async () => {
        const counted = await this.#end(proc, sleeper, lines);
        if (counted.problem !== null)
          this.#warnOnce(`system calls per response not counted: ${counted.problem}`);
        return counted;
      },
    };
  }

  /** One real count of a short command: perf there, the tracepoint there, and the right to use it. */
  async #probe(): Promise<string | null> {
    try {
      const run = await this.host.exec('perf', ['stat', '-x,', '-e', SYSCALL_EVENT, '--', 'true'], {
        timeoutMs: 15_000,
      });
      const counted = parsePerfStatCount(`${run.stderr}\n${run.stdout}`);
      if (counted.ok) return null;
      const missing = run.exitCode === 127 || /not found|ENOENT|No such file/i.test(run.stderr);
      return missing && !/tracing/.test(run.stderr)
        ? `perf is not installed on ${this.host.name} (${PERF_INSTALL})`
        : `${counted.problem} (on ${this.host.name})`;
    } catch (error) {
      return `perf does not run on ${this.host.name}: ${(error as Error).message}`;
    }
  }

  /**
   * perf opens and enables its counters before it lets its command (`sleep`) exec, so the
   * window is open once the child's name is `sleep`; its pid is what ends the window.
   */
  async #countingStarted(proc: HostProcess, lines: readonly string[]): Promise<number> {
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    const perfPid = await proc.started;
    // waitFor retries a probe that throws, so perf's end is a value, not an error.
    const started = await waitFor(
      async () => {
        if (exited) return { problem: parsePerfFailure(lines) };
        const children = await this.host.readFile(`/proc/${perfPid}/task/${perfPid}/children`);
        const child = Number(children?.trim().split(/\s+/)[0]);
        if (!Number.isInteger(child) || child <= 0) return undefined;
        const comm = await this.host.readFile(`/proc/${child}/comm`);
        return comm?.trim() === 'sleep' ? { child } : undefined;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 10, what: 'perf stat to start counting' },
    );
    if ('problem' in started) throw new Error(started.problem);
    return started.child;
  }

  async #end(
    proc: HostProcess,
    sleeper: number,
    lines: readonly string[],
  ): Promise<{ count: number | null; problem: string | null }> {
    // Ending the command ends the count; perf then prints it and exits (already gone: perf has
    // ended its count on its own).
    await signalOn(this.host, sleeper, 'TERM', STOP_TIMEOUT_MS);
    if ((await within(proc.exited, STOP_TIMEOUT_MS)) === 'late') {
      await proc.stop(1000);
      return { count: null, problem: `perf stat did not end within ${STOP_TIMEOUT_MS / 1000} s` };
    }
    const counted = parsePerfStatCount(lines.join('\n'));
    return counted.ok ? { count: counted.count, problem: null } : { count: null, problem: counted.problem };
  }

  #warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.warn(message);
  }
}

function parsePerfFailure(lines: readonly string[]): string {
  const counted = parsePerfStatCount(lines.join('\n'));
  return counted.ok ? 'perf stat ended before the load started' : counted.problem;
}
