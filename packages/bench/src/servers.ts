import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fillPlaceholders,
  type ProcessCpuSample,
  type SendMode,
  type ServerDescription,
  type ServerEngine,
  type ServerStatsFile,
  ServerStatsFileSchema,
  type WorkerShare,
} from '@scaleup/core';
import { childPids, procStatFields, waitFor } from '@scaleup/core/io';
import { type Host, type HostProcess, localHost, type ProcessExit, signalOn } from '@scaleup/hosts';

/**
 * Anything the runner can put under load: our server, nginx, or a user's command, on this
 * machine or another host. They share one shape, so the runner never asks which kind it holds.
 */
export interface ServerUnderTest {
  url: string;
  /** Where it runs: 'local' or an ssh destination; its /proc is read there. */
  host: string;
  description: ServerDescription;
  /** A file's text on the server's host (its /proc), or null when absent. */
  readFile(path: string): Promise<string | null>;
  /** Every process of the server with its role, for CPU accounting. */
  processes(): Promise<{ pid: number; role: ProcessCpuSample['role'] }[]>;
  /** Per-worker cumulative request and connection counts, where the server reports them. */
  workerCounters(): Promise<WorkerShare[] | null>;
  /** Requests served so far as the server last reported them (no waiting), for live progress. */
  liveRequests(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Reads a file on this machine; what a server on the local host uses for its /proc. */
export async function readLocalFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = resolve(here, '../../..');
const CLI_IN_CHECKOUT = 'packages/cli/src/bin.ts';
const CLI_BIN = join(REPO_DIR, CLI_IN_CHECKOUT);

/** The command line that runs the scaleup CLI in a child: node with tsx's loader, no shell. */
export function scaleupCliCommand(args: string[]): { file: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const tsxLoader = require.resolve('tsx/esm', { paths: [REPO_DIR] });
  return { file: process.execPath, args: ['--import', `file://${tsxLoader}`, CLI_BIN, ...args] };
}

/**
 * Where servers run: a Host, the scaleup checkout there (for our server and the nginx runner),
 * the address they listen on and the one the load tools reach them at.
 */
export interface ServerPlace {
  host: Host;
  checkout: string;
  /** node on that host ('node' from its PATH remotely). */
  node: string;
  listenAddress: string;
  urlAddress: string;
  /** The scaleup CLI with these arguments, as this place runs it. */
  cli(args: string[]): { file: string; args: string[]; cwd: string };
  /** Where per-run files go on that host (a shipped bundle's run directory); /tmp otherwise. */
  workDir?: string;
}

/** A bundle shipped to the host (hosts/ship.ts) and the run's working directory there. */
export interface RemoteBundle {
  /** The bundle's directory on the host, holding scaleup.mjs. */
  dir: string;
  runDir: string;
  /** The native addon shipped with it, when the host's platform matches this machine's. */
  addon: boolean;
  /** The addon built on the host (its platform differs), when it has a C compiler. */
  addonPath?: string | null;
  /** openloop there: shipped beside the bundle or built on the host; null when it has none. */
  openloop?: string | null;
}

/**
 * The bundled CLI with the run directory as its temp and working directory, and the addon the
 * bundle carries (or none: the server then writes every response and says why). `env` keeps
 * this an argument array, and execs, so the pid the group leader reports stays the CLI's.
 */
export function bundleCommand(
  node: string,
  bundle: RemoteBundle,
  args: string[],
): { file: string; args: string[]; cwd: string } {
  const addon =
    bundle.addonPath ?? `${bundle.dir}/${bundle.addon ? 'zerocopy.node' : 'zerocopy.node.not-shipped'}`;
  // Never the bundle's fallback path (next to the cache, not ours): a host without one says so.
  const openloop = bundle.openloop ?? `${bundle.dir}/openloop.not-available`;
  return {
    file: 'env',
    args: [
      `TMPDIR=${bundle.runDir}`,
      `SCALEUP_NATIVE_ADDON=${addon}`,
      `SCALEUP_OPENLOOP=${openloop}`,
      node,
      `${bundle.dir}/scaleup.mjs`,
      ...args,
    ],
    cwd: bundle.runDir,
  };
}

let local: Host | undefined;
/** This machine, as the runner always used it: servers on loopback (or all addresses). */
export function localPlace(address = '127.0.0.1', listenAddress = address): ServerPlace {
  local ??= localHost();
  return {
    host: local,
    checkout: REPO_DIR,
    node: process.execPath,
    listenAddress,
    urlAddress: address,
    cli: (args) => ({ ...scaleupCliCommand(args), cwd: REPO_DIR }),
  };
}

/**
 * Another host: the bundle shipped there, or its checkout's CLI through its own node (tsx
 * resolves from the checkout).
 */
export function remotePlace(
  host: Host,
  options: {
    checkout: string;
    node?: string;
    urlAddress: string;
    listenAddress?: string;
    bundle?: RemoteBundle | undefined;
  },
): ServerPlace {
  const node = options.node ?? 'node';
  const { bundle } = options;
  if (bundle !== undefined) {
    return {
      host,
      // No checkout there: command servers' relative paths resolve in the run directory.
      checkout: bundle.runDir,
      node,
      listenAddress: options.listenAddress ?? '0.0.0.0',
      urlAddress: options.urlAddress,
      cli: (args) => bundleCommand(node, bundle, args),
      workDir: bundle.runDir,
    };
  }
  return {
    host,
    checkout: options.checkout,
    node,
    listenAddress: options.listenAddress ?? '0.0.0.0',
    urlAddress: options.urlAddress,
    cli: (args) => ({
      file: node,
      args: ['--import', 'tsx', join(options.checkout, CLI_IN_CHECKOUT), ...args],
      cwd: options.checkout,
    }),
  };
}

/**
 * Snapshots for the live progress line; the counters of a repetition are asked for with SIGUSR2
 * when it ends. At 0.2 s the snapshots cost the server 1-2% of its core at 10 kB.
 */
const STATS_INTERVAL_SECONDS = 1;
/** The group leader's TERM-to-KILL grace, and how long a stop may take before it is reported. */
const STOP_GRACE_MS = 6000;
const STOP_DEADLINE_MS = 15_000;

/**
 * A server's process tree under the place's group leader: pinned, its output appended to the
 * scenario's log, and stopped as a whole (TERM, then KILL) with every worker a master spawned,
 * even workers that outlive their master or hold its stdout open. Waits are bounded.
 */
export class SupervisedServer {
  exit: ProcessExit | null = null;
  readonly process: HostProcess;

  constructor(
    readonly place: ServerPlace,
    readonly what: string,
    command: { file: string; args: string[]; cwd?: string | undefined },
    options: { cpus: number[] | undefined; logPath: string; env?: Record<string, string> | undefined },
  ) {
    this.process = place.host.spawn(command.file, command.args, {
      ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cpus === undefined ? {} : { cpus: options.cpus }),
      logPath: options.logPath,
      graceMs: STOP_GRACE_MS,
    });
    void this.process.exited.then((exit) => {
      this.exit = exit;
    });
  }

  /** The command's pid on its host once the leader reported it. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  exitText(): string {
    const e = this.exit;
    if (e === null) return 'running';
    if (e.error !== null) return e.error;
    if (e.lostConnection) return `the connection to ${this.place.host.name} was lost`;
    return e.signal !== null ? `killed by ${e.signal}` : `exit code ${e.exitCode}`;
  }

  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.what} on ${this.place.host.name} did not stop within ${STOP_DEADLINE_MS / 1000} s`,
            ),
          ),
        STOP_DEADLINE_MS,
      );
    });
    try {
      await Promise.race([this.process.stop(STOP_GRACE_MS), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Direct children of a pid on a host, from /proc: every thread's list (any thread may fork). */
async function childrenOn(host: Host, pid: number): Promise<number[]> {
  if (host.kind === 'local') return childPids(pid);
  const listed = await host.shell(`cat /proc/${pid}/task/*/children 2>/dev/null`, { timeoutMs: 10_000 });
  return listed.stdout
    .split(/\s+/)
    .filter((part) => /^\d+$/.test(part))
    .map(Number);
}

/** A pid and all its descendants on a host, or nothing once the pid is gone. */
export async function processTreeOn(host: Host, pid: number): Promise<number[]> {
  if (!(await isAliveOn(host, pid))) return [];
  return [pid, ...(await descendantsOn(host, pid))];
}

async function descendantsOn(host: Host, pid: number): Promise<number[]> {
  const all: number[] = [];
  for (const child of await childrenOn(host, pid)) all.push(child, ...(await descendantsOn(host, child)));
  return all;
}

async function isAliveOn(host: Host, pid: number): Promise<boolean> {
  const stat = await host.readFile(`/proc/${pid}/stat`);
  if (stat === null) return false;
  const state = procStatFields(stat)[0];
  return state !== 'Z' && state !== 'X';
}

/** A private directory on the place's host for a server's stats file; removed when it stops. */
async function tempDirOn(host: Host, parent = '/tmp'): Promise<string> {
  const made = await host.exec('mktemp', ['-d', `${parent}/scaleup-bench-server-XXXXXX`], {
    timeoutMs: 15_000,
  });
  const dir = made.stdout.trim();
  if (made.exitCode !== 0 || dir === '')
    throw new Error(`cannot make a temporary directory on ${host.name}: ${made.stderr.trim()}`);
  return dir;
}

/** A port that was free a moment ago on the place's host (the kernel picks it). */
export async function allocatePortOn(place: ServerPlace): Promise<number> {
  const script =
    "const s=require('net').createServer();s.listen({port:0,host:process.argv[1],exclusive:true},()=>{process.stdout.write(String(s.address().port));s.close()})";
  const run = await place.host.exec(place.node, ['-e', script, place.listenAddress], { timeoutMs: 15_000 });
  const port = Number(run.stdout.trim());
  if (run.exitCode !== 0 || !Number.isInteger(port) || port <= 0) {
    throw new Error(
      `cannot allocate a port on ${place.host.name} (${place.listenAddress}): ${run.stderr.trim() || run.stdout.trim()}`,
    );
  }
  return port;
}

function urlOf(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
}

export interface ScaleupServerOptions {
  resource: 'fixed' | 'file' | 'data';
  accept: 'shared' | 'rr' | 'reuseport';
  workers: number;
  backlog: number;
  send: SendMode;
  /** net (the default) or http (node:http); only http is passed, so older checkouts still run. */
  engine?: ServerEngine;
  payloadBytes: number;
  cpus: number[] | undefined;
  place: ServerPlace;
  logPath: string;
  /** Workers write /tmp/perf-<pid>.map (--perf-basic-prof), so CPU profiles name JavaScript. */
  perfMap?: boolean;
}

/** The server's stats file on its host, or undefined while it is absent or half-written. */
async function readStatsOn(host: Host, statsFile: string): Promise<ServerStatsFile | undefined> {
  const text = await host.readFile(statsFile);
  if (text === null) return undefined;
  try {
    const parsed = ServerStatsFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Asks the master for a stats snapshot now (SIGUSR2), on whichever host it runs. */
async function signalSnapshot(host: Host, masterPid: number): Promise<void> {
  // Gone: the interval snapshots (or none) will have to do.
  await signalOn(host, masterPid, 'USR2', 10_000).catch(() => undefined);
}

export async function startScaleupServer(options: ScaleupServerOptions): Promise<ServerUnderTest> {
  const { place } = options;
  const { host } = place;
  const workDir = await tempDirOn(host, place.workDir);
  const statsFile = `${workDir}/stats.json`;
  // Port 0: the server's master binds and reports the port in its stats file, on any host.
  const cli = place.cli([
    ...['server', '--port', '0', '--host', place.listenAddress, '--workers', String(options.workers)],
    ...[
      '--backlog',
      String(options.backlog),
      '--resource',
      options.resource,
      '--payload',
      String(options.payloadBytes),
    ],
    ...['--accept', options.accept, '--send', options.send, '--silence'],
    ...(options.engine === 'http' ? ['--engine', 'http'] : []),
    ...(options.perfMap === true ? ['--perf-basic-prof'] : []),
    ...['--interval', String(STATS_INTERVAL_SECONDS), '--stats-file', statsFile],
  ]);
  const server = new SupervisedServer(place, `scaleup server (${options.resource})`, cli, {
    cpus: options.cpus,
    logPath: options.logPath,
  });
  const readStats = () => readStatsOn(host, statsFile);
  const stop = async () => {
    try {
      await server.stop();
    } finally {
      await host.exec('rm', ['-rf', workDir], { timeoutMs: 15_000 }).catch(() => undefined);
    }
  };
  let readyStats: ServerStatsFile;
  try {
    readyStats = await waitFor(
      async () => {
        if (server.exit !== null) {
          const log = await readFile(options.logPath, 'utf8').catch(() => '');
          throw new Error(
            `scaleup server stopped (${server.exitText()}): ${log.trim().split('\n').slice(-3).join(' | ')}`,
          );
        }
        const stats = await readStats();
        return stats !== undefined && stats.event !== 'starting' && stats.workers.length === options.workers
          ? stats
          : undefined;
      },
      { timeoutMs: 20_000, what: `scaleup server (${options.resource}) on ${host.name} to be ready` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: urlOf(place.urlAddress, readyStats.port),
    host: host.name,
    readFile: (path) => host.readFile(path),
    description: {
      kind: 'scaleup',
      resource: options.resource,
      accept: options.accept,
      workers: options.workers,
      backlog: options.backlog,
      send: options.send,
      zeroCopy: readyStats.zeroCopy.active,
      engine: options.engine ?? 'net',
    },
    async processes() {
      const stats = await readStats();
      if (stats === undefined) return [];
      return [
        { pid: stats.masterPid, role: 'master' as const },
        ...stats.workers.map((w) => ({ pid: w.pid, role: 'worker' as const })),
      ];
    },
    async workerCounters() {
      // Wait for a snapshot written after this call (by its own clock, not ours: hosts differ).
      const before = (await readStats())?.writtenAt;
      await signalSnapshot(host, readyStats.masterPid);
      const stats = await waitFor(
        async () => {
          const s = await readStats();
          return s !== undefined && s.writtenAt !== before ? s : undefined;
        },
        { timeoutMs: 3000, intervalMs: 20, what: 'a fresh server stats snapshot' },
      ).catch(() => readStats());
      if (stats === undefined) return null;
      return stats.workers.map((w) => ({
        slot: w.slot,
        pid: w.pid,
        requests: w.requests,
        connections: w.connections,
      }));
    },
    async liveRequests() {
      const stats = await readStats();
      return stats === undefined
        ? null
        : stats.retired.requests + stats.workers.reduce((sum, w) => sum + w.requests, 0);
    },
    stop,
  };
}

export interface CommandServerOptions {
  command: string[];
  cwd: string | undefined;
  env: Record<string, string> | undefined;
  readyUrl: string | undefined;
  url: string | undefined;
  readyTimeoutSeconds: number;
  /** Run first: a failure means what the server needs is missing, and the scenario is skipped. */
  check?: string[] | undefined;
  /** The fix for a failed check (or an early exit), e.g. an apt-get line. */
  install?: string | undefined;
  payloadBytes: number;
  workers: number;
  place: ServerPlace;
  cpus: number[] | undefined;
  logPath: string;
  /** Checks one response; the runner's own verification, reused as the readiness probe. */
  probe: (url: string) => Promise<boolean>;
}

/**
 * A user's server from a scenario's command line, with {port}-style placeholders filled. Its
 * whole process group is the server: a master that spawns workers (the seed's design) is stopped
 * with all of them, even when they outlive it holding its output open.
 */
export async function startCommandServer(options: CommandServerOptions): Promise<ServerUnderTest> {
  const { place } = options;
  const { host } = place;
  const port = await allocatePortOn(place);
  const values = { port, host: place.listenAddress, payload: options.payloadBytes, workers: options.workers };
  const argv = options.command.map((part) => fillPlaceholders(part, values));
  const urlValues = { ...values, host: place.urlAddress };
  const readyUrl = fillPlaceholders(options.readyUrl ?? 'http://{host}:{port}/', urlValues);
  const url = options.url === undefined ? readyUrl : fillPlaceholders(options.url, urlValues);
  const [file, ...args] = argv;
  const fix = options.install === undefined ? '' : `; install: ${options.install}`;
  if (options.check !== undefined) {
    const [checkFile, ...checkArgs] = options.check;
    const outcome = await host.exec(checkFile!, checkArgs, {
      timeoutMs: 30_000,
      cwd: options.cwd === undefined ? place.checkout : resolve(place.checkout, options.cwd),
    });
    if (outcome.exitCode !== 0) {
      const why = outcome.timedOut
        ? 'timed out'
        : (outcome.stderr.trim().split('\n').pop() ?? '') || `exit code ${outcome.exitCode}`;
      throw new Error(`'${options.check.join(' ')}' failed (${why})${fix}`);
    }
  }
  // Relative paths in a suite are the checkout's (scenarios/...), wherever the CLI was started.
  const cwd = options.cwd === undefined ? place.checkout : resolve(place.checkout, options.cwd);
  const server = new SupervisedServer(
    place,
    `'${argv.join(' ')}'`,
    { file: file!, args, cwd },
    { cpus: options.cpus, logPath: options.logPath, env: options.env },
  );
  const stop = () => server.stop();
  try {
    await waitFor(
      async () => {
        if (server.exit !== null)
          throw new Error(
            `'${argv.join(' ')}' stopped (${server.exitText()}; log: ${options.logPath})${fix}`,
          );
        return (await options.probe(readyUrl)) ? true : undefined;
      },
      {
        timeoutMs: options.readyTimeoutSeconds * 1000,
        intervalMs: 100,
        what: `'${argv.join(' ')}' to answer ${readyUrl}`,
      },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    host: host.name,
    readFile: (path) => host.readFile(path),
    description: { kind: 'command', command: argv, cwd: options.cwd ?? null },
    async processes() {
      const pid = server.pid;
      if (pid === undefined) return [];
      return (await processTreeOn(host, pid)).map((p) => ({ pid: p, role: 'server' as const }));
    },
    async workerCounters() {
      return null;
    },
    async liveRequests() {
      return null;
    },
    stop,
  };
}
