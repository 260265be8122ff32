import { type ChildProcess, fork as forkProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ServerStatsFile, UsageError, ZERO_COPY_MIN_BYTES } from '@scaleup/core';
import type { ServerOptions } from './options.ts';
import { payloadOf } from './resource.ts';
import { loadReusePort, type ReusePortAddon, reusePortPlan } from './reuse-port.ts';
import { makeTempRoot, sweepStaleTempRoots } from './temp-root.ts';
import { WORKER_CONFIG_ENV, type WorkerConfig } from './worker.ts';
import { loadZeroCopy } from './zero-copy.ts';

/**
 * What the master settles before its first worker starts (prepareMaster), and gives back when it
 * ends (release).
 */
export interface MasterSetup {
  /** How workers listen; see WorkerConfig['listen']. */
  listenVia: WorkerConfig['listen'];
  /** The port workers are told: the reserved one for reuseport through the addon, else --port. */
  port: number;
  /** The numeric address reuseport workers bind through the addon, else --host. */
  bindHost: string;
  /** The directory the file resource serves: --root, or a temporary one holding index.html. */
  root: string | undefined;
  /** The accept queue the kernel grants: --backlog capped by net.core.somaxconn. */
  effectiveBacklog: number;
  zeroCopy: ServerStatsFile['zeroCopy'];
  /** Closes the reserved port and removes the temporary root; safe to call more than once. */
  release(): void;
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

/** Step 1: how workers listen, with the port reserved when the addon opens their sockets. */
async function planListening(
  options: ServerOptions,
  note: (text: string) => void,
): Promise<{ listenVia: WorkerConfig['listen']; reservation: PortReservation | undefined }> {
  if (options.accept !== 'reuseport') return { listenVia: 'cluster', reservation: undefined };
  const load = loadReusePort();
  const plan = reusePortPlan(load);
  if (typeof plan === 'object') throw new UsageError(plan.refusal);
  if (load.addon === null) {
    note(`${load.note}; using net's reusePort`);
    return { listenVia: plan, reservation: undefined };
  }
  return { listenVia: plan, reservation: await reservePort(load.addon, options.host, options.port) };
}

/** Step 2: the directory the file resource serves; a temporary one is for this master to remove. */
function prepareRoot(options: ServerOptions): { root: string | undefined; tempRoot: string | undefined } {
  if (options.resource !== 'file') return { root: undefined, tempRoot: undefined };
  if (options.root === undefined) {
    const tempRoot = makeTempRoot();
    writeFileSync(join(tempRoot, 'index.html'), payloadOf(options.payloadBytes));
    return { root: tempRoot, tempRoot };
  }
  const root = resolve(options.root);
  let isDirectory = false;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDirectory) throw new UsageError(`--root ${options.root} is not a directory`);
  return { root, tempRoot: undefined };
}

/** Step 3: the accept queue the kernel will grant, said aloud when it is less than asked. */
function effectiveBacklog(backlog: number, note: (text: string) => void): number {
  const somaxconn = readSomaxconn();
  if (somaxconn === null) return backlog;
  if (backlog > somaxconn) {
    note(
      `--backlog ${backlog} exceeds net.core.somaxconn ${somaxconn}; the kernel caps the accept queue at ${somaxconn}`,
    );
  }
  return Math.min(backlog, somaxconn);
}

/** Step 4: whether workers send large responses with sendfile, said aloud when they cannot. */
function planZeroCopy(options: ServerOptions, note: (text: string) => void): ServerStatsFile['zeroCopy'] {
  // node:http writes every response itself: sendfile is the net engine's.
  const load = options.send === 'auto' && options.engine === 'net' ? loadZeroCopy() : null;
  const zeroCopy = { active: load?.addon != null, minBytes: ZERO_COPY_MIN_BYTES, note: load?.note ?? null };
  if (zeroCopy.note !== null) note(`${zeroCopy.note}; sending every response with write()`);
  return zeroCopy;
}

/**
 * Settles, in order, what every worker will be told: how it listens (reserving the port for
 * reuseport through the addon), the file root, the effective backlog and the send path. A refusal
 * on the way gives back what was already taken.
 */
export async function prepareMaster(
  options: ServerOptions,
  note: (text: string) => void,
): Promise<MasterSetup> {
  // Roots of masters that were SIGKILLed (no exit handler ran): theirs to remove, now ours.
  sweepStaleTempRoots();
  let { listenVia, reservation } = await planListening(options, note);
  const releasePort = () => {
    if (reservation !== undefined) reservation.addon.closeFd(reservation.fd);
    reservation = undefined;
  };
  let prepared: ReturnType<typeof prepareRoot>;
  try {
    prepared = prepareRoot(options);
  } catch (error) {
    releasePort();
    throw error;
  }
  let tempRoot = prepared.tempRoot;
  const backlog = effectiveBacklog(options.backlog, note);
  const zeroCopy = planZeroCopy(options, note);
  const removeTempRoot = () => {
    if (tempRoot !== undefined) rmSync(tempRoot, { recursive: true, force: true });
    tempRoot = undefined;
  };
  process.once('exit', removeTempRoot);
  return {
    listenVia,
    port: reservation?.port ?? options.port,
    bindHost: reservation?.bindHost ?? options.host,
    root: prepared.root,
    effectiveBacklog: backlog,
    zeroCopy,
    release() {
      releasePort();
      removeTempRoot();
      process.off('exit', removeTempRoot);
    },
  };
}

function workerEntry(): string {
  // Bundled for another host (hosts/src/bundle.ts), the worker is a sibling .mjs of the CLI.
  const bundled = import.meta.url.endsWith('.mjs');
  return fileURLToPath(new URL(bundled ? './worker-main.mjs' : './worker-main.ts', import.meta.url));
}

/** Workers run TypeScript too: make sure they load tsx even when this process got it another way. */
function workerExecArgv(entry: string): string[] {
  const argv = [...process.execArgv];
  if (entry.endsWith('.ts') && !argv.some((arg) => arg.includes('tsx'))) {
    argv.push('--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
  }
  return argv;
}

/**
 * Node's flags for a worker whose JIT frames perf must name: /tmp/perf-<pid>.map. Node 20's V8
 * also opens an isolate-<addr>-<pid>-v8.log in the working directory for it (one per worker per
 * run, left in the user's checkout); a log file of /dev/null keeps the map and drops the log.
 */
export const PERF_MAP_EXEC_ARGV: readonly string[] = ['--perf-basic-prof', '--logfile=/dev/null'];

/**
 * How the master starts a worker process: through cluster (whose scheduling policy is set here,
 * before the first fork), except for reuseport through the addon, where a cluster worker's
 * listen({ fd }) would go through the master (see runServer) and plain child processes are used.
 */
export function workerLauncher(
  options: Pick<ServerOptions, 'accept' | 'perfMap'>,
  listenVia: WorkerConfig['listen'],
): (config: WorkerConfig) => ChildProcess {
  const entry = workerEntry();
  const execArgv = [...workerExecArgv(entry), ...(options.perfMap ? PERF_MAP_EXEC_ARGV : [])];
  const envOf = (config: WorkerConfig) => ({ [WORKER_CONFIG_ENV]: JSON.stringify(config) });
  if (listenVia === 'addon') {
    return (config) =>
      forkProcess(entry, [], { env: { ...process.env, ...envOf(config) }, execArgv, stdio: 'inherit' });
  }
  cluster.schedulingPolicy = options.accept === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: entry, execArgv, silent: false });
  return (config) => {
    const worker = cluster.fork(envOf(config));
    // cluster's Worker re-emits its process's errors, and an 'error' nobody listens to throws.
    worker.on('error', () => {});
    return worker.process;
  };
}
