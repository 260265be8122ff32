import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ResultPromise } from 'execa';
import { type ControlMessage, frames, StderrDemux } from './protocol.ts';
import { within } from './time.ts';
import type { ExecResult, HostProcess, Lines, ProcessExit } from './types.ts';

/** After the leader's end, how long trailing output may take to drain before `exited` resolves anyway. */
const DRAIN_MS = 1000;
/** After the leader reported the end, how long the ssh client may take to follow before it is killed. */
const CLIENT_FOLLOW_MS = 3000;
const STDERR_TAIL_LINES = 20;

export interface LeaderProcessOptions {
  hostName: string;
  kind: 'local' | 'ssh';
  token: string;
  stdin: boolean;
  logPath?: string | undefined;
  /** Keep the text of stdout and stderr, for exec. */
  capture?: boolean;
  /** How often to send a heartbeat frame; 0 for none. */
  heartbeatEveryMs?: number;
  /** The pid must be reported within this, or the process is stopped and `started` rejects. */
  startTimeoutMs: number;
  /** Last resort when the leader does not go when asked: kill the client and the group some other way. */
  forceKill: (child: ResultPromise | undefined, pid: number | undefined) => Promise<void>;
}

function lineSplitter(
  stream: Readable,
  onChunk: (chunk: string) => void,
  onLine: (line: string) => void,
  onEnd: () => void,
): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    onChunk(chunk);
    pending += chunk;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
      onLine(pending.slice(0, end));
      pending = pending.slice(end + 1);
    }
  });
  const finish = () => {
    if (pending !== '') onLine(pending);
    pending = '';
    onEnd();
  };
  stream.once('end', finish);
  stream.once('error', finish);
}

/**
 * A command behind a group leader, reached through a local child: the leader itself (local
 * host) or an ssh client running it remotely. `exited` follows that child's exit, never the end
 * of its pipes, which grandchildren of the command could hold open.
 */
export class LeaderProcess implements HostProcess {
  readonly stdout = new EventEmitter() as Lines;
  readonly stderr = new EventEmitter() as Lines;
  readonly started: Promise<number>;
  readonly exited: Promise<ProcessExit>;

  readonly #options: LeaderProcessOptions;
  #child: ResultPromise | undefined;
  #queued: string[] = [];
  #pid: number | undefined;
  #controlExit: { exitCode: number | null; signal: string | null } | undefined;
  #controlError: string | undefined;
  #launchError: string | undefined;
  #stopReason: string | undefined;
  #stderrTail: string[] = [];
  #stdoutText = '';
  #stderrText = '';
  #log: WriteStream | undefined;
  #openStreams = 0;
  #clientExit: { code: number | null; signal: string | null } | undefined;
  #final: ProcessExit | undefined;
  #timers: NodeJS.Timeout[] = [];
  #resolveStarted!: (pid: number) => void;
  #rejectStarted!: (error: Error) => void;
  #resolveExited!: (exit: ProcessExit) => void;
  #stopping: Promise<void> | undefined;

  /** `launch` wraps the child: a bare execa subprocess is a thenable and would be awaited to its end. */
  constructor(options: LeaderProcessOptions, launch: Promise<{ child: ResultPromise }>) {
    this.#options = options;
    this.started = new Promise((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // Callers that only care about `exited` must not crash the process with an unhandled rejection.
    this.started.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
    const startTimer = setTimeout(() => {
      if (this.#pid !== undefined || this.#final !== undefined) return;
      const message = `host ${options.hostName}: the group leader did not report the command's pid within ${options.startTimeoutMs} ms`;
      this.#rejectStarted(new Error(message));
      this.#launchError ??= message;
      void this.stop(0).catch(() => {});
    }, options.startTimeoutMs);
    startTimer.unref();
    this.#timers.push(startTimer);
    launch.then(
      ({ child }) => this.#attach(child),
      (error: unknown) => {
        this.#launchError = `host ${options.hostName}: ${error instanceof Error ? error.message : String(error)}`;
        this.#finalize();
      },
    );
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  get clientPid(): number | undefined {
    return this.#child?.pid;
  }

  /** Captured text so far (with `capture`). */
  get output(): { stdout: string; stderr: string } {
    return { stdout: this.#stdoutText, stderr: this.#stderrText };
  }

  /** The last stderr line (the ssh client's own complaints land there too). */
  get lastStderrLine(): string | undefined {
    return this.#stderrTail.at(-1);
  }

  /** Why the leader said it was stopping, when it did. */
  get stopReason(): string | undefined {
    return this.#stopReason;
  }

  write(text: string): void {
    if (!this.#options.stdin)
      throw new Error(`host ${this.#options.hostName}: write() needs spawn(..., { stdin: 'pipe' })`);
    this.#send(frames.data(text));
  }

  stop(graceMs = 5000): Promise<void> {
    if (this.#final !== undefined) return Promise.resolve();
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    const { hostName } = this.#options;
    if (this.#pid === undefined && this.#options.kind === 'ssh') {
      // Not started yet (the ssh client may still be connecting): a remote leader that is just
      // starting sees its stdin close and stops its group itself. Locally the leader is asked
      // like any other, since killing it now could orphan a command it has just let run.
      await this.#options.forceKill(this.#child, undefined);
      if ((await within(this.exited, 5000)) !== 'late') return;
    }
    this.#send(frames.stop(graceMs));
    // The leader waits the grace, then KILLs and waits for the group; an ssh round trip on top.
    const budget = graceMs + (this.#options.kind === 'ssh' ? 8000 : 6000);
    if ((await within(this.exited, budget)) !== 'late') return;
    await this.#options.forceKill(this.#child, this.#pid);
    if ((await within(this.exited, 5000)) !== 'late') return;
    throw new Error(
      `host ${hostName}: process ${this.#pid ?? '(pid not reported)'} did not stop within ${budget + 5000} ms`,
    );
  }

  #send(frame: string): void {
    if (this.#final !== undefined) return;
    const stdin = this.#child?.stdin;
    if (this.#child === undefined) this.#queued.push(frame);
    else if (stdin?.writable) stdin.write(frame);
  }

  #attach(child: ResultPromise): void {
    this.#child = child;
    const { logPath, capture } = this.#options;
    child.stdin?.on('error', () => {
      // The leader is gone; its exit is reported through the exit event.
    });
    for (const frame of this.#queued.splice(0)) child.stdin?.write(frame);
    if (logPath !== undefined) {
      this.#log = createWriteStream(logPath, { flags: 'a' });
      this.#log.on('error', () => {});
    }
    if (child.stdout) {
      this.#openStreams += 1;
      lineSplitter(
        child.stdout,
        (chunk) => {
          if (capture) this.#stdoutText += chunk;
        },
        (line) => this.stdout.emit('line', line),
        () => this.#streamEnded(),
      );
    }
    if (child.stderr) {
      this.#openStreams += 1;
      const demux = new StderrDemux(
        this.#options.token,
        (message) => this.#onControl(message),
        (line, complete) => {
          const text = complete ? `${line}\n` : line;
          if (capture) this.#stderrText += text;
          this.#log?.write(text);
          this.#stderrTail.push(line);
          if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
          this.stderr.emit('line', line);
        },
      );
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => demux.push(chunk));
      const end = () => {
        demux.end();
        this.#streamEnded();
      };
      child.stderr.once('end', end);
      child.stderr.once('error', end);
    }
    const every = this.#options.heartbeatEveryMs ?? 0;
    if (every > 0) {
      const beat = setInterval(() => this.#send(frames.heartbeat), every);
      beat.unref();
      this.#timers.push(beat);
    }
    child.on('error', (error) => {
      // Only a failure to start the client itself; exits are reported through 'exit'.
      if (child.pid === undefined) {
        this.#launchError = `host ${this.#options.hostName}: cannot start ${child.spawnfile}: ${error.message}`;
        this.#finalize();
      }
    });
    child.on('exit', (code, signal) => {
      this.#clientExit = { code, signal };
      if (this.#openStreams === 0) this.#finalize();
      else {
        const drain = setTimeout(() => this.#finalize(), DRAIN_MS);
        drain.unref();
        this.#timers.push(drain);
      }
    });
  }

  #streamEnded(): void {
    this.#openStreams -= 1;
    if (this.#openStreams === 0 && this.#clientExit !== undefined) this.#finalize();
  }

  #onControl(message: ControlMessage): void {
    if (message.kind === 'started') {
      this.#pid = message.pid;
      this.#resolveStarted(message.pid);
    } else if (message.kind === 'stopping') {
      this.#stopReason = message.reason;
    } else if (message.kind === 'error') {
      this.#controlError = message.message;
      if (this.#options.capture) this.#stderrText += `${message.message}\n`;
    } else {
      this.#controlExit = { exitCode: message.exitCode, signal: message.signal };
      // A process that left the group can hold the ssh channel open after the leader has gone.
      const follow = setTimeout(() => {
        if (this.#clientExit === undefined) this.#child?.kill('SIGKILL');
      }, CLIENT_FOLLOW_MS);
      follow.unref();
      this.#timers.push(follow);
    }
  }

  #finalize(): void {
    if (this.#final !== undefined) return;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#log?.end();
    const { hostName, kind } = this.#options;
    const lastWords = this.#stderrTail.at(-1);
    let exit: ProcessExit;
    if (this.#controlExit !== undefined) {
      exit = { ...this.#controlExit, lostConnection: false, error: this.#controlError ?? null };
    } else if (this.#launchError !== undefined) {
      exit = { exitCode: null, signal: null, lostConnection: false, error: this.#launchError };
    } else if (kind === 'ssh') {
      const { code, signal } = this.#clientExit ?? { code: null, signal: null };
      // ssh exits 255 on its own errors; other codes came from the remote shell, which then
      // never got as far as the leader (node or the checkout missing).
      const lost = this.#pid !== undefined || code === 255 || signal !== null;
      exit = lost
        ? {
            exitCode: null,
            signal: null,
            lostConnection: true,
            error: `host ${hostName}: connection lost (${lastWords ?? `ssh ended with ${signal ?? code}`})`,
          }
        : {
            exitCode: code,
            signal: null,
            lostConnection: false,
            error: `host ${hostName}: the group leader did not run (exit ${code}): ${lastWords ?? 'no message'}`,
          };
    } else {
      const { code, signal } = this.#clientExit ?? { code: null, signal: null };
      exit = {
        exitCode: code,
        signal,
        lostConnection: false,
        error: `host ${hostName}: the group leader ended without reporting the command's end (${signal ?? `exit ${code}`})`,
      };
    }
    this.#final = exit;
    if (this.#pid === undefined)
      this.#rejectStarted(new Error(exit.error ?? `host ${hostName}: the command ended before it started`));
    this.#resolveExited(exit);
  }
}

/**
 * Waits for a captured process within a deadline: the command's own failures are results, the
 * host's (never started, connection lost) are errors naming the host.
 */
export async function collect(
  process: LeaderProcess,
  timeoutMs: number,
  hostName: string,
): Promise<ExecResult> {
  let timedOut = false;
  if ((await within(process.exited, timeoutMs)) === 'late') {
    timedOut = true;
    await process.stop(1000).catch(() => {});
  }
  const exit = await process.exited;
  const { stdout, stderr } = process.output;
  if (timedOut && process.pid === undefined) {
    // Nothing ran: the deadline went on reaching the host, which is the host's failure.
    const why = process.lastStderrLine;
    throw new Error(
      `host ${hostName}: the command did not start within ${timeoutMs} ms${why ? ` (${why})` : ''}`,
    );
  }
  if (!timedOut && exit.exitCode === null && exit.signal === null && exit.error !== null) {
    throw new Error(
      exit.error.startsWith(`host ${hostName}`) ? exit.error : `host ${hostName}: ${exit.error}`,
    );
  }
  return { exitCode: timedOut ? null : exit.exitCode, stdout, stderr, timedOut };
}
