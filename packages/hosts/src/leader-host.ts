import { closeSync, openSync } from 'node:fs';
import type { SupervisedCommand } from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';
import { collect, LeaderProcess, type LeaderProcessOptions } from './process.ts';
import { leaderArguments, newToken } from './protocol.ts';
import type { ExecOptions, ExecResult, HostProcess, SpawnOptions } from './types.ts';

/**
 * Starts the local end of a group leader: the leader itself, or the ssh client that runs it on
 * the remote host. With a log file, the child writes its stdout there itself through the
 * descriptor (nothing here copies the output); otherwise stdout is a pipe.
 */
export function startLeaderChild(command: SupervisedCommand, logPath: string | undefined): ResultPromise {
  const logFd = logPath === undefined ? undefined : openSync(logPath, 'a');
  try {
    return execa(command.file, command.args, {
      reject: false,
      buffer: false,
      stdin: 'pipe',
      // A descriptor number goes straight to spawn (execa's types only admit 3-9 here).
      stdout: (logFd ?? 'pipe') as 'pipe',
      stderr: 'pipe',
    });
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
}

/** What a host kind sets on each LeaderProcess: how long a start may take, heartbeats, last-resort kill. */
export type LeaderRouteOptions = Pick<
  LeaderProcessOptions,
  'startTimeoutMs' | 'heartbeatEveryMs' | 'forceKill'
>;

/**
 * The part of a Host that is the same everywhere: every command runs behind a group leader
 * (protocol.ts), `exec` is a captured `spawn`, and `close` stops whatever is still running. A
 * host kind supplies only the route to its leader: `launch` (the local leader, or ssh to the
 * remote one), the leader's heartbeat, and the LeaderProcess options of `route`.
 */
export abstract class LeaderHost {
  abstract readonly name: string;
  abstract readonly kind: 'local' | 'ssh';
  readonly #live = new Set<LeaderProcess>();
  #closing: Promise<void> | undefined;

  /**
   * Starts the child that runs the group leader with `leaderArgv` (its options, `--`, then the
   * command). What cannot start at all should throw here; what fails later rejects.
   */
  protected abstract launch(
    leaderArgv: string[],
    logPath: string | undefined,
  ): Promise<{ child: ResultPromise }>;

  /** The leader's own deadline without frames from this side (`--heartbeat`), or undefined for none. */
  protected abstract heartbeatMs(): number | undefined;

  protected abstract route(): LeaderRouteOptions;

  /** Runs once every process has stopped, as the last part of close(). */
  protected async afterClose(): Promise<void> {}

  /** Whether close() was called: nothing new may start then. */
  protected get closing(): boolean {
    return this.#closing !== undefined;
  }

  spawn(file: string, args: string[], options: SpawnOptions = {}): HostProcess {
    return this.#spawn(file, args, options, false);
  }

  exec(file: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const proc = this.#spawn(file, args, { cwd: options.cwd, graceMs: 1000 }, true);
    return collect(proc, options.timeoutMs ?? 30_000, this.name);
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#live].map((proc) => proc.stop(2000))).then(() =>
      this.afterClose(),
    );
    return this.#closing;
  }

  #spawn(file: string, args: string[], options: SpawnOptions, capture: boolean): LeaderProcess {
    if (this.#closing !== undefined) throw new Error(`host ${this.name}: spawn after close()`);
    const token = newToken();
    const leader = leaderArguments({
      token,
      graceMs: options.graceMs ?? 5000,
      heartbeatMs: this.heartbeatMs(),
      stdin: options.stdin === 'pipe',
      cwd: options.cwd,
      env: options.env,
      cpus: options.cpus,
    });
    const launch = this.launch([...leader, file, ...args], options.logPath);
    const proc = new LeaderProcess(
      {
        hostName: this.name,
        kind: this.kind,
        token,
        stdin: options.stdin === 'pipe',
        logPath: options.logPath,
        capture,
        ...this.route(),
      },
      launch,
    );
    this.#live.add(proc);
    void proc.exited.then(() => this.#live.delete(proc));
    return proc;
  }
}
