import { type ChildProcess, fork as forkProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ServerStatsFile, UsageError, ZERO_COPY_MIN_BYTES } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import type { ServerOptions } from './options.ts';
import { payloadOf } from './resource.ts';
import { loadReusePort, type ReusePortAddon, reusePortPlan } from './reuse-port.ts';
import {
  formatWorkerLine,
  isWorkerMessage,
  type MasterMessage,
  readyLine,
  type StatsFileContext,
  statsFile,
  type WorkerSample,
  workerStats,
} from './stats.ts';
import { makeTempRoot, sweepStaleTempRoots } from './temp-root.ts';
import { WORKER_CONFIG_ENV, type WorkerConfig } from './worker.ts';
import { loadZeroCopy } from './zero-copy.ts';

export interface ServerIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Workers get this long to finish in-flight requests; the master kills what is left soon after. */
const WORKER_GRACE_MS = 3_800;
const FORCE_KILL_MS = 4_400;
/** A worker that dies sooner than this after starting counts towards the crash-loop back-off. */
const FAST_FAILURE_MS = 5_000;
const MAX_BACKOFF_MS = 10_000;

/** Delay before respawning a slot after `fastFailures` quick deaths in a row: 0, 0, 100, 200, ... */
export function respawnDelayMs(fastFailures: number): number {
  if (fastFailures <= 1) return 0;
  return Math.min(100 * 2 ** (fastFailures - 2), MAX_BACKOFF_MS);
}

/** net.core.somaxconn, or null where it cannot be read. */
export function readSomaxconn(): number | null {
  try {
    const value = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

function workerEntry(): string {
  return fileURLToPath(new URL('./worker-main.ts', import.meta.url));
}

/** Workers run TypeScript too: make sure they load tsx even when this process got it another way. */
function workerExecArgv(entry: string): string[] {
  const argv = [...process.execArgv];
  if (entry.endsWith('.ts') && !argv.some((arg) => arg.includes('tsx'))) {
    argv.push('--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
  }
  return argv;
}

interface Slot {
  index: number;
  /** The worker's process, whether cluster forked it or child_process did (reuseport). */
  worker: ChildProcess | null;
  sample: WorkerSample | null;
  restarts: number;
  startedAt: number;
  fastFailures: number;
  listening: boolean;
  respawnTimer: NodeJS.Timeout | undefined;
  waiters: (() => void)[];
  /** The previous printed sample, for the per-interval rate. */
  previous: { pid: number; requests: number; at: number } | null;
}

/** The master's share of `--accept reuseport` through the addon: the port, held but never listened on. */
interface PortReservation {
  addon: ReusePortAddon;
  fd: number;
  port: number;
  /** The numeric address workers bind. */
  bindHost: string;
}

function errorCode(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Reserves the port for reuseport workers: first an exclusive bind (so a port some other server
 * holds, even one with SO_REUSEPORT of its own, is refused as EADDRINUSE instead of being shared
 * with it) which also picks the port for --port 0; then, on that port, a bound SO_REUSEPORT socket
 * that never listens. A socket that does not listen is in no accept group, so the kernel never
 * hands it a connection, yet it keeps the port ours while workers come and go.
 */
async function reservePort(addon: ReusePortAddon, host: string, port: number): Promise<PortReservation> {
  let bindHost = host;
  if (isIP(host) === 0) {
    try {
      bindHost = (await lookup(host)).address;
    } catch (error) {
      throw new Error(`cannot listen on ${host}:${port}: ${errorCode(error)}`);
    }
  }
  try {
    const probe = addon.bindSocket(bindHost, port, false);
    let chosen: number;
    try {
      chosen = addon.socketPort(probe);
    } finally {
      addon.closeFd(probe);
    }
    const fd = addon.bindSocket(bindHost, chosen, true);
    return { addon, fd, port: chosen, bindHost };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOPROTOOPT') {
      throw new UsageError(
        `--accept reuseport: this system has no SO_REUSEPORT (${(error as Error).message}); use --accept shared`,
      );
    }
    throw new Error(`cannot listen on ${host}:${port}: ${errorCode(error)}`);
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
  const masterPid = process.pid;
  const startedAt = Date.now();
  const note = (text: string) => io.stderr.write(`scaleup server: ${text}\n`);

  // Roots of masters that were SIGKILLed (no exit handler ran): theirs to remove, now ours.
  sweepStaleTempRoots();

  let listenVia: WorkerConfig['listen'] = 'cluster';
  let reservation: PortReservation | undefined;
  if (options.accept === 'reuseport') {
    const load = loadReusePort();
    const plan = reusePortPlan(load);
    if (typeof plan === 'object') throw new UsageError(plan.refusal);
    listenVia = plan;
    if (load.addon !== null) reservation = await reservePort(load.addon, options.host, options.port);
    else note(`${load.note}; using net's reusePort`);
  }
  const releasePort = () => {
    if (reservation !== undefined) reservation.addon.closeFd(reservation.fd);
    reservation = undefined;
  };

  let root: string | undefined;
  let tempRoot: string | undefined;
  if (options.resource === 'file') {
    if (options.root !== undefined) {
      root = resolve(options.root);
      let isDirectory = false;
      try {
        isDirectory = statSync(root).isDirectory();
      } catch {
        // Reported below.
      }
      if (!isDirectory) {
        releasePort();
        throw new UsageError(`--root ${options.root} is not a directory`);
      }
    } else {
      tempRoot = makeTempRoot();
      writeFileSync(join(tempRoot, 'index.html'), payloadOf(options.payloadBytes));
      root = tempRoot;
    }
  }
  const somaxconn = readSomaxconn();
  const effectiveBacklog = somaxconn === null ? options.backlog : Math.min(options.backlog, somaxconn);
  if (somaxconn !== null && options.backlog > somaxconn) {
    note(
      `--backlog ${options.backlog} exceeds net.core.somaxconn ${somaxconn}; the kernel caps the accept queue at ${somaxconn}`,
    );
  }

  const zeroCopyLoad = options.send === 'auto' ? loadZeroCopy() : null;
  const zeroCopy = {
    active: zeroCopyLoad?.addon != null,
    minBytes: ZERO_COPY_MIN_BYTES,
    note: zeroCopyLoad?.note ?? null,
  };
  if (zeroCopy.note !== null) note(`${zeroCopy.note}; sending every response with write()`);

  const removeTempRoot = () => {
    if (tempRoot !== undefined) rmSync(tempRoot, { recursive: true, force: true });
    tempRoot = undefined;
  };
  process.once('exit', removeTempRoot);

  const context: StatsFileContext = {
    masterPid,
    accept: options.accept,
    resource: options.resource,
    payloadBytes: options.payloadBytes,
    port: reservation?.port ?? options.port,
    host: options.host,
    backlog: options.backlog,
    effectiveBacklog,
    send: options.send,
    zeroCopy,
  };
  const retired = { requests: 0, connections: 0 };
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    worker: null,
    sample: null,
    restarts: 0,
    startedAt: 0,
    fastFailures: 0,
    listening: false,
    respawnTimer: undefined,
    waiters: [],
    previous: null,
  }));

  let statsChain: Promise<void> = Promise.resolve();
  const snapshot = (event: ServerStatsFile['event']): ServerStatsFile =>
    statsFile(
      context,
      event,
      (Date.now() - startedAt) / 1000,
      slots.flatMap((slot) =>
        slot.sample === null ? [] : [workerStats(slot.index, slot.restarts, slot.sample)],
      ),
      retired,
    );
  const writeStats = (event: ServerStatsFile['event']): Promise<void> => {
    const path = options.statsFile;
    if (path === undefined) return statsChain;
    const data = `${JSON.stringify(snapshot(event), null, 2)}\n`;
    // Chained: two renames racing could leave an older snapshot in place.
    statsChain = statsChain.then(() =>
      writeFileAtomic(path, data).catch((error: unknown) => {
        note(`cannot write --stats-file ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }),
    );
    return statsChain;
  };
  await writeStats('starting');

  const entry = workerEntry();
  const execArgv = workerExecArgv(entry);
  if (listenVia !== 'addon') {
    cluster.schedulingPolicy = options.accept === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: entry, execArgv, silent: false });
  }
  /** A worker process: through cluster, except for reuseport through the addon (see runServer). */
  const spawnWorker = (config: WorkerConfig): ChildProcess => {
    const env = { [WORKER_CONFIG_ENV]: JSON.stringify(config) };
    if (listenVia === 'addon') {
      return forkProcess(entry, [], { env: { ...process.env, ...env }, execArgv, stdio: 'inherit' });
    }
    const worker = cluster.fork(env);
    // cluster's Worker re-emits its process's errors, and an 'error' nobody listens to throws.
    worker.on('error', () => {});
    return worker.process;
  };
  /** With net's reusePort and --port 0, the slots after the first wait for the port it got. */
  let deferredSlots = listenVia === 'net' && context.port === 0 ? options.workers - 1 : 0;

  const timeouts = {
    headerTimeoutMs: options.headerTimeoutSeconds * 1000,
    requestTimeoutMs: options.requestTimeoutSeconds * 1000,
    keepAliveTimeoutMs: options.keepAliveTimeoutSeconds * 1000,
  };
  const reportMs = Math.max(100, Math.min(1000, options.intervalSeconds * 1000 || 1000));

  let ready = false;
  let stopping = false;
  let intervalTimer: NodeJS.Timeout | undefined;
  let forceTimer: NodeJS.Timeout | undefined;
  let finishResolve: (code: number) => void = () => {};
  let finishReject: (error: Error) => void = () => {};
  let failure: Error | undefined;
  const finished = new Promise<number>((resolvePromise, rejectPromise) => {
    finishResolve = resolvePromise;
    finishReject = rejectPromise;
  });

  const send = (worker: ChildProcess, message: MasterMessage) => {
    try {
      if (worker.connected) worker.send(message);
    } catch {
      // The worker is going away; its exit is handled elsewhere.
    }
  };

  const fork = (slot: Slot) => {
    const config: WorkerConfig = {
      slot: slot.index,
      host: options.host,
      port: context.port,
      backlog: options.backlog,
      accept: options.accept,
      listen: listenVia,
      bindHost: reservation?.bindHost ?? options.host,
      resource: options.resource,
      payloadBytes: options.payloadBytes,
      root,
      timeouts,
      reportMs,
      zeroCopy: zeroCopy.active,
    };
    const worker = spawnWorker(config);
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.listening = false;
    slot.sample = null;
    let exited = false;
    let fatal: string | undefined;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message) || slot.worker !== worker) return;
      if (message.type === 'fatal') {
        fatal = message.message;
        if (!ready) fail(message.message);
        else note(message.message);
        return;
      }
      slot.sample = message.sample;
      for (const waiter of slot.waiters.splice(0)) waiter();
      if (message.type === 'listening') {
        slot.listening = true;
        context.port = message.port;
        if (deferredSlots > 0) {
          deferredSlots = 0;
          for (const other of slots) if (other.worker === null && !stopping) fork(other);
        }
        if (!ready && slots.every((s) => s.listening)) onReady();
        else if (ready) {
          note(`worker ${slot.index} respawned as pid ${worker.pid} (restart ${slot.restarts})`);
          void writeStats('interval');
        }
      }
    });
    worker.on('error', () => {});
    // Exit can be reported before the last IPC messages are read; wait for the channel to close.
    const gone = (code: number | null, signal: string | null) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      onWorkerGone(slot, worker, code, signal, fatal);
    };
    worker.on('exit', (code: number | null, signal: string | null) => {
      exited = true;
      if (!worker.connected) gone(code, signal);
      else {
        worker.once('disconnect', () => gone(code, signal));
        setTimeout(() => gone(code, signal), 300).unref();
      }
    });
    worker.on('disconnect', () => {
      // A worker that closed its channel but lives on would be unmanageable: end it.
      if (!exited && !stopping) setTimeout(() => !exited && worker.kill('SIGKILL'), 1000).unref();
    });
  };

  const onWorkerGone = (
    slot: Slot,
    worker: ChildProcess,
    code: number | null,
    signal: string | null,
    fatal?: string,
  ) => {
    for (const waiter of slot.waiters.splice(0)) waiter();
    if (stopping) {
      if (slots.every((s) => s.worker === null)) void finish();
      return;
    }
    const how = signal ?? `exit code ${code}`;
    if (!ready) {
      fail(fatal ?? `worker ${slot.index} (pid ${worker.pid}) died before listening (${how})`);
      return;
    }
    // Keep totals monotonic: a dead worker's last known counters move to `retired`.
    if (slot.sample !== null) {
      retired.requests += slot.sample.requests;
      retired.connections += slot.sample.connections;
    }
    slot.sample = null;
    slot.previous = null;
    slot.listening = false;
    slot.fastFailures = Date.now() - slot.startedAt < FAST_FAILURE_MS ? slot.fastFailures + 1 : 0;
    slot.restarts++;
    const delay = respawnDelayMs(slot.fastFailures);
    note(
      `worker ${slot.index} (pid ${worker.pid}) died (${how}); respawning` +
        `${delay > 0 ? ` in ${delay} ms` : ''} (restart ${slot.restarts})`,
    );
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (!stopping) fork(slot);
    }, delay);
  };

  const collect = async (timeoutMs: number) => {
    await Promise.all(
      slots.map((slot) => {
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
  };

  /**
   * SIGUSR2: a fresh snapshot in the stats file now. A benchmark reads counters right after each
   * run this way instead of asking for snapshots several times a second, whose IPC and file
   * writes would cost the serving core (~1-2% at 10 kB with a 0.2 s interval).
   */
  const snapshotNow = async () => {
    await collect(250);
    if (!stopping && ready) await writeStats('interval');
  };

  const tick = async () => {
    await collect(250);
    if (stopping) return;
    if (!options.silence) {
      const now = Date.now();
      const lines: string[] = [];
      for (const slot of slots) {
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
      if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
    }
    await writeStats('interval');
  };

  const onReady = () => {
    ready = true;
    io.stdout.write(
      `${readyLine({ ...context, host: options.host, workers: options.workers, masterPid })}\n`,
    );
    void writeStats('ready');
    if (options.intervalSeconds > 0) {
      intervalTimer = setInterval(() => void tick(), options.intervalSeconds * 1000);
    }
  };

  const stopWorkers = () => {
    for (const slot of slots) {
      if (slot.respawnTimer !== undefined) clearTimeout(slot.respawnTimer);
      slot.respawnTimer = undefined;
      if (slot.worker !== null) send(slot.worker, { type: 'shutdown', graceMs: WORKER_GRACE_MS });
    }
    forceTimer = setTimeout(() => {
      for (const slot of slots) slot.worker?.kill('SIGKILL');
    }, FORCE_KILL_MS);
    if (slots.every((s) => s.worker === null)) void finish();
  };

  const stop = () => {
    if (stopping) {
      // A second signal: no more patience.
      for (const slot of slots) slot.worker?.kill('SIGKILL');
      return;
    }
    stopping = true;
    if (intervalTimer !== undefined) clearInterval(intervalTimer);
    void writeStats('stopping');
    stopWorkers();
  };

  function fail(message: string): void {
    if (stopping) return;
    failure = new Error(message);
    stopping = true;
    if (intervalTimer !== undefined) clearInterval(intervalTimer);
    stopWorkers();
  }

  let finishing = false;
  async function finish(): Promise<void> {
    if (finishing) return;
    finishing = true;
    if (forceTimer !== undefined) clearTimeout(forceTimer);
    for (const signal of SIGNALS) process.off(signal, stop);
    process.off('SIGUSR2', onSnapshotSignal);
    await writeStats('stopped');
    releasePort();
    removeTempRoot();
    process.off('exit', removeTempRoot);
    if (failure !== undefined) finishReject(failure);
    else finishResolve(0);
  }

  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of SIGNALS) process.on(signal, stop);
  const onSnapshotSignal = () => void snapshotNow();
  process.on('SIGUSR2', onSnapshotSignal);

  for (const slot of deferredSlots > 0 ? slots.slice(0, 1) : slots) fork(slot);
  return finished;
}
