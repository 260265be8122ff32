import type { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import type { ServerStatsFile } from '@scaleup/core';
import { noteStopping, writeFileAtomic } from '@scaleup/core/io';
import { type MasterSetup, prepareMaster, workerLauncher } from './master-setup.ts';
import type { ServerOptions } from './options.ts';
import {
  formatWorkerLine,
  isWorkerMessage,
  type MasterMessage,
  readyLine,
  type StatsFileContext,
  statsFile,
  type WorkerMessage,
  type WorkerSample,
  workerStats,
} from './stats.ts';
import type { WorkerConfig } from './worker.ts';

export interface ServerIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Workers get this long to finish in-flight requests; the master kills what is left soon after. */
const WORKER_GRACE_MS = 3_800;
const FORCE_KILL_MS = 4_400;
/**
 * A worker asked to stop before it listened may not have heard (its message handler comes with its
 * server): it is asked again when it listens, and until then only this bound kills it.
 */
const STARTING_KILL_MS = 30_000;
/** An exited worker's IPC channel normally closes at once; this bounds the wait when it does not. */
const CHANNEL_CLOSE_MS = 300;
/** A worker that dies sooner than this after starting counts towards the crash-loop back-off. */
const FAST_FAILURE_MS = 5_000;
const MAX_BACKOFF_MS = 10_000;
/** How long a stats collection waits for each worker's answer. */
const COLLECT_MS = 250;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Delay before respawning a slot after `fastFailures` quick deaths in a row: 0, 0, 100, 200, ... */
export function respawnDelayMs(fastFailures: number): number {
  if (fastFailures <= 1) return 0;
  return Math.min(100 * 2 ** (fastFailures - 2), MAX_BACKOFF_MS);
}

/** What followExit needs of a worker's process. */
export interface ExitingProcess {
  readonly connected: boolean;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
}

/**
 * Calls `gone` once for a worker that exited, after its IPC channel closed so its last messages are
 * read, or CHANNEL_CLOSE_MS after the exit if the channel never reports closing (a message cut
 * mid-way by SIGKILL leaves it waiting). The timer holds the event loop: when it was unref'd and
 * the worker was the last thing alive, the master ended with no 'stopped' snapshot and exit 0.
 */
export function followExit(
  worker: ExitingProcess,
  gone: (code: number | null, signal: NodeJS.Signals | null) => void,
): void {
  let called = false;
  const once = (code: number | null, signal: NodeJS.Signals | null) => {
    if (called) return;
    called = true;
    gone(code, signal);
  };
  worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    if (!worker.connected) return once(code, signal);
    const timer = setTimeout(() => once(code, signal), CHANNEL_CLOSE_MS);
    worker.once('disconnect', () => {
      clearTimeout(timer);
      once(code, signal);
    });
  });
}

/**
 * Where the master is in its life. It moves only forward:
 *   starting -> serving -> stopping -> stopped
 *   starting -> aborting -> stopped
 */
type Phase =
  /** Workers are starting; the first that cannot listen fails the whole server. */
  | 'starting'
  /** Every slot listened once and the ready line is out; a worker that dies is respawned. */
  | 'serving'
  /** A signal came while serving: workers finish in-flight requests, nothing respawns. */
  | 'stopping'
  /** A signal or a failure came before every worker listened: no ready line, nothing respawns. */
  | 'aborting'
  /** Every worker is gone, the last stats written, the port and the temporary root given back. */
  | 'stopped';

/** One worker position; its process comes and goes, the slot and its counters stay. */
interface Slot {
  index: number;
  /** The worker's process, whether cluster forked it or child_process did (reuseport). */
  worker: ChildProcess | null;
  sample: WorkerSample | null;
  restarts: number;
  startedAt: number;
  fastFailures: number;
  listening: boolean;
  /** What the current worker said when it gave up, to explain its exit. */
  fatal: string | undefined;
  respawnTimer: NodeJS.Timeout | undefined;
  /** While stopping: kills the worker if it has not stopped by itself in time. */
  killTimer: NodeJS.Timeout | undefined;
  /** Called at the worker's next sample or exit: a stats collection waiting for it. */
  waiters: (() => void)[];
  /** The previous printed sample, for the per-interval rate. */
  previous: { pid: number; requests: number; at: number } | null;
}

function newSlot(index: number): Slot {
  return {
    index,
    worker: null,
    sample: null,
    restarts: 0,
    startedAt: 0,
    fastFailures: 0,
    listening: false,
    fatal: undefined,
    respawnTimer: undefined,
    killTimer: undefined,
    waiters: [],
    previous: null,
  };
}

function send(worker: ChildProcess, message: MasterMessage): void {
  try {
    if (worker.connected) worker.send(message);
  } catch {
    // The worker is going away; its exit is handled elsewhere.
  }
}

/**
 * The master process once its setup is done: starts one worker per slot, declares the server
 * ready when every slot listened, respawns dead workers (with a back-off for crash loops),
 * collects and writes stats, and stops on a signal. Each event below is one method; `#phase`
 * says which of them still apply.
 */
class Supervisor {
  readonly #options: ServerOptions;
  readonly #io: ServerIo;
  readonly #setup: MasterSetup;
  readonly #startedAt: number;
  readonly #context: StatsFileContext;
  readonly #slots: Slot[];
  /** A dead worker's last known counters, so totals never go down. */
  readonly #retired = { requests: 0, connections: 0 };
  #phase: Phase = 'starting';
  #failure: Error | undefined;
  #launch: ((config: WorkerConfig) => ChildProcess) | undefined;
  #statsChain: Promise<void> = Promise.resolve();
  #intervalTimer: NodeJS.Timeout | undefined;
  readonly #finished: Promise<number>;
  #settle: { resolve: (code: number) => void; reject: (error: Error) => void } | undefined;

  constructor(options: ServerOptions, io: ServerIo, setup: MasterSetup, startedAt: number) {
    this.#options = options;
    this.#io = io;
    this.#setup = setup;
    this.#startedAt = startedAt;
    this.#context = {
      masterPid: process.pid,
      accept: options.accept,
      resource: options.resource,
      payloadBytes: options.payloadBytes,
      port: setup.port,
      host: options.host,
      backlog: options.backlog,
      effectiveBacklog: setup.effectiveBacklog,
      send: options.send,
      zeroCopy: setup.zeroCopy,
    };
    this.#slots = Array.from({ length: options.workers }, (_, index) => newSlot(index));
    this.#finished = new Promise<number>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  /** Starts the workers; resolves to the exit code once they are all gone after a stop. */
  async run(): Promise<number> {
    // Handlers first: a signal that comes once 'starting' is visible must find them installed, or
    // it ends the master with the default action, with no stop and no 'stopped' snapshot.
    for (const signal of SIGNALS) process.on(signal, this.#onStopSignal);
    process.on('SIGUSR2', this.#onSnapshotSignal);
    await this.#writeStats('starting');
    if (this.#stopping) return this.#finished;
    this.#launch = workerLauncher(this.#options, this.#setup.listenVia);
    const first = this.#portPending ? this.#slots.slice(0, 1) : this.#slots;
    for (const slot of first) this.#spawn(slot);
    return this.#finished;
  }

  /**
   * With net's reusePort and --port 0, the slots after the first wait for the port it got: until
   * a worker has listened, the context still holds the 0 it was asked for.
   */
  get #portPending(): boolean {
    return this.#setup.listenVia === 'net' && this.#context.port === 0;
  }

  get #stopping(): boolean {
    return this.#phase === 'stopping' || this.#phase === 'aborting' || this.#phase === 'stopped';
  }

  #note(text: string): void {
    this.#io.stderr.write(`scaleup server: ${text}\n`);
  }

  // --- workers -------------------------------------------------------------------------------

  #workerConfig(slot: Slot): WorkerConfig {
    const options = this.#options;
    return {
      slot: slot.index,
      host: options.host,
      port: this.#context.port,
      backlog: options.backlog,
      accept: options.accept,
      listen: this.#setup.listenVia,
      bindHost: this.#setup.bindHost,
      engine: options.engine,
      resource: options.resource,
      payloadBytes: options.payloadBytes,
      root: this.#setup.root,
      timeouts: {
        headerTimeoutMs: options.headerTimeoutSeconds * 1000,
        requestTimeoutMs: options.requestTimeoutSeconds * 1000,
        keepAliveTimeoutMs: options.keepAliveTimeoutSeconds * 1000,
      },
      reportMs: Math.max(100, Math.min(1000, options.intervalSeconds * 1000 || 1000)),
      zeroCopy: this.#setup.zeroCopy.active,
    };
  }

  /** Starts a worker in `slot` and follows it until it is gone. */
  #spawn(slot: Slot): void {
    const worker = this.#launch!(this.#workerConfig(slot));
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.listening = false;
    slot.sample = null;
    slot.fatal = undefined;
    let exited = false;
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && slot.worker === worker) this.#onMessage(slot, worker, message);
    });
    worker.on('error', () => {});
    worker.on('exit', () => {
      exited = true;
    });
    followExit(worker, (code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      this.#onWorkerGone(slot, worker, code, signal);
    });
    worker.on('disconnect', () => {
      // A worker that closed its channel but lives on would be unmanageable: end it.
      if (!exited && !this.#stopping) setTimeout(() => !exited && worker.kill('SIGKILL'), 1000).unref();
    });
  }

  #onMessage(slot: Slot, worker: ChildProcess, message: WorkerMessage): void {
    if (message.type === 'fatal') {
      slot.fatal = message.message;
      if (this.#phase === 'starting') this.#fail(message.message);
      else if (this.#phase !== 'aborting') this.#note(message.message);
      return;
    }
    slot.sample = message.sample;
    for (const waiter of slot.waiters.splice(0)) waiter();
    if (message.type === 'listening') this.#onListening(slot, worker, message.port);
  }

  #onListening(slot: Slot, worker: ChildProcess, port: number): void {
    slot.listening = true;
    if (this.#stopping) {
      this.#askToStop(slot, worker);
      return;
    }
    const portWasPending = this.#portPending;
    this.#context.port = port;
    if (portWasPending) {
      for (const other of this.#slots) if (other.worker === null && !this.#stopping) this.#spawn(other);
    }
    if (this.#phase === 'starting') {
      if (this.#slots.every((s) => s.listening)) this.#becomeReady();
    } else if (this.#phase === 'serving') {
      this.#note(`worker ${slot.index} respawned as pid ${worker.pid} (restart ${slot.restarts})`);
      void this.#writeStats('interval');
    }
  }

  #onWorkerGone(slot: Slot, worker: ChildProcess, code: number | null, signal: string | null): void {
    for (const waiter of slot.waiters.splice(0)) waiter();
    clearTimeout(slot.killTimer);
    slot.killTimer = undefined;
    if (this.#stopping) {
      if (this.#slots.every((s) => s.worker === null)) void this.#finish();
      return;
    }
    const how = signal ?? `exit code ${code}`;
    if (this.#phase === 'starting') {
      this.#fail(slot.fatal ?? `worker ${slot.index} (pid ${worker.pid}) died before listening (${how})`);
      return;
    }
    this.#respawnLater(slot, worker, how);
  }

  /** Replaces a worker that died while serving, after a back-off if it keeps dying young. */
  #respawnLater(slot: Slot, worker: ChildProcess, how: string): void {
    if (slot.sample !== null) {
      this.#retired.requests += slot.sample.requests;
      this.#retired.connections += slot.sample.connections;
    }
    slot.sample = null;
    slot.previous = null;
    slot.listening = false;
    slot.fastFailures = Date.now() - slot.startedAt < FAST_FAILURE_MS ? slot.fastFailures + 1 : 0;
    slot.restarts++;
    const delay = respawnDelayMs(slot.fastFailures);
    this.#note(
      `worker ${slot.index} (pid ${worker.pid}) died (${how}); respawning` +
        `${delay > 0 ? ` in ${delay} ms` : ''} (restart ${slot.restarts})`,
    );
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (!this.#stopping) this.#spawn(slot);
    }, delay);
  }

  #becomeReady(): void {
    this.#phase = 'serving';
    const options = this.#options;
    this.#io.stdout.write(
      `${readyLine({ ...this.#context, host: options.host, workers: options.workers })}\n`,
    );
    void this.#writeStats('ready');
    if (options.intervalSeconds > 0) {
      this.#intervalTimer = setInterval(() => void this.#tick(), options.intervalSeconds * 1000);
    }
  }

  // --- stats ---------------------------------------------------------------------------------

  /** Asks every live worker for a sample and waits for the answers, each for at most `timeoutMs`. */
  async #collect(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.#slots.map((slot) => {
        if (slot.worker === null) return undefined;
        return new Promise<void>((done) => {
          const timer = setTimeout(done, timeoutMs);
          slot.waiters.push(() => {
            clearTimeout(timer);
            done();
          });
          send(slot.worker!, { type: 'stats?' });
        });
      }),
    );
  }

  #snapshot(event: ServerStatsFile['event']): ServerStatsFile {
    const workers = this.#slots.flatMap((slot) =>
      slot.sample === null ? [] : [workerStats(slot.index, slot.restarts, slot.sample)],
    );
    return statsFile(this.#context, event, (Date.now() - this.#startedAt) / 1000, workers, this.#retired);
  }

  #writeStats(event: ServerStatsFile['event']): Promise<void> {
    const path = this.#options.statsFile;
    if (path === undefined) return this.#statsChain;
    const data = `${JSON.stringify(this.#snapshot(event), null, 2)}\n`;
    // Chained: two renames racing could leave an older snapshot in place.
    this.#statsChain = this.#statsChain.then(() =>
      writeFileAtomic(path, data).catch((error: unknown) => {
        this.#note(
          `cannot write --stats-file ${path}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }),
    );
    return this.#statsChain;
  }

  /** Every --interval: a line per worker (unless --silence) and a snapshot in the stats file. */
  async #tick(): Promise<void> {
    await this.#collect(COLLECT_MS);
    if (this.#stopping) return;
    if (!this.#options.silence) this.#printWorkerLines();
    await this.#writeStats('interval');
  }

  #printWorkerLines(): void {
    const now = Date.now();
    const lines: string[] = [];
    for (const slot of this.#slots) {
      if (slot.sample === null) continue;
      const stats = workerStats(slot.index, slot.restarts, slot.sample);
      const previous = slot.previous;
      const rate =
        previous !== null && previous.pid === stats.pid && now > previous.at
          ? ((stats.requests - previous.requests) * 1000) / (now - previous.at)
          : null;
      slot.previous = { pid: stats.pid, requests: stats.requests, at: now };
      lines.push(formatWorkerLine(stats, rate));
    }
    if (lines.length > 0) this.#io.stdout.write(`${lines.join('\n')}\n`);
  }

  /**
   * SIGUSR2: a fresh snapshot in the stats file now. A benchmark reads counters right after each
   * run this way instead of asking for snapshots several times a second, whose IPC and file
   * writes would cost the serving core (~1-2% at 10 kB with a 0.2 s interval).
   */
  readonly #onSnapshotSignal = (): void => {
    void this.#collect(COLLECT_MS).then(() => {
      if (this.#phase === 'serving') return this.#writeStats('interval');
    });
  };

  // --- stopping ------------------------------------------------------------------------------

  readonly #onStopSignal = (): void => {
    if (this.#stopping) {
      // A second signal: no more patience.
      for (const slot of this.#slots) slot.worker?.kill('SIGKILL');
      return;
    }
    noteStopping();
    this.#beginStop();
    void this.#writeStats('stopping');
    this.#stopWorkers();
  };

  #fail(message: string): void {
    if (this.#stopping) return;
    this.#failure = new Error(message);
    this.#beginStop();
    this.#stopWorkers();
  }

  #beginStop(): void {
    this.#phase = this.#phase === 'starting' ? 'aborting' : 'stopping';
    if (this.#intervalTimer !== undefined) clearInterval(this.#intervalTimer);
  }

  /** Cancels pending respawns, asks every worker to finish, and kills what is left after a while. */
  #stopWorkers(): void {
    for (const slot of this.#slots) {
      if (slot.respawnTimer !== undefined) clearTimeout(slot.respawnTimer);
      slot.respawnTimer = undefined;
      if (slot.worker !== null) this.#askToStop(slot, slot.worker);
    }
    if (this.#slots.every((s) => s.worker === null)) void this.#finish();
  }

  /** Sends the shutdown request and (re)arms the worker's deadline: short once it listens. */
  #askToStop(slot: Slot, worker: ChildProcess): void {
    send(worker, { type: 'shutdown', graceMs: WORKER_GRACE_MS });
    clearTimeout(slot.killTimer);
    const deadlineMs = slot.listening ? FORCE_KILL_MS : STARTING_KILL_MS;
    slot.killTimer = setTimeout(() => {
      slot.killTimer = undefined;
      if (slot.worker !== worker) return;
      this.#note(
        `worker ${slot.index} (pid ${worker.pid}) did not stop within ${deadlineMs / 1000} s; killed`,
      );
      worker.kill('SIGKILL');
    }, deadlineMs);
  }

  /** The last worker is gone: final stats, give back the port and the root, settle run(). */
  async #finish(): Promise<void> {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopped';
    for (const slot of this.#slots) clearTimeout(slot.killTimer);
    for (const signal of SIGNALS) process.off(signal, this.#onStopSignal);
    process.off('SIGUSR2', this.#onSnapshotSignal);
    await this.#writeStats('stopped');
    this.#setup.release();
    if (this.#failure !== undefined) this.#settle!.reject(this.#failure);
    else this.#settle!.resolve(0);
  }
}

/**
 * Runs the multi-process server until SIGINT/SIGTERM/SIGHUP and resolves to the exit code. The
 * master never accepts a connection in `shared` mode: cluster with SCHED_NONE makes it create and
 * bind the listening socket, hand the same socket to every worker, and stay out of the way, while
 * each worker's `listen` sets the backlog and accepts on it.
 *
 * In `reuseport` mode every worker opens its own listening socket. Through the native addon (any
 * Node) the workers are plain child processes (a cluster worker's listen({ fd }) would go through
 * the master) and the master only holds the port with a socket that never listens (reservePort);
 * it learns the port there, so --port 0 works and every worker gets the real port. Without the
 * addon on Node >= 22.12, cluster workers use net's reusePort; with --port 0 slot 0 starts first
 * and the others get the port it reports.
 */
export async function runServer(
  options: ServerOptions,
  io: ServerIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  if (!cluster.isPrimary) throw new Error('runServer must run in the primary process');
  const startedAt = Date.now();
  const setup = await prepareMaster(options, (text) => io.stderr.write(`scaleup server: ${text}\n`));
  return new Supervisor(options, io, setup, startedAt).run();
}
