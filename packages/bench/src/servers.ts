import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fillPlaceholders,
  type ProcessCpuSample,
  type SendMode,
  type ServerDescription,
  type ServerStatsFile,
  ServerStatsFileSchema,
  type WorkerShare,
} from '@scaleup/core';
import { allocatePort, childPids, isAlive, supervisedCommand, waitFor } from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';

/**
 * Anything the runner can put under load: our server, nginx, or a user's command. They share
 * one shape, so the runner never asks which kind it holds.
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
const CLI_BIN = join(REPO_DIR, 'packages/cli/src/bin.ts');

/** The command line that runs the scaleup CLI in a child: node with tsx's loader, no shell. */
export function scaleupCliCommand(args: string[]): { file: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const tsxLoader = require.resolve('tsx/esm', { paths: [REPO_DIR] });
  return { file: process.execPath, args: ['--import', `file://${tsxLoader}`, CLI_BIN, ...args] };
}

/**
 * Snapshots for the live progress line; the counters of a repetition are asked for with SIGUSR2
 * when it ends. At 0.2 s the snapshots cost the server 1-2% of its core at 10 kB.
 */
const STATS_INTERVAL_SECONDS = 1;

async function stopChild(child: ResultPromise, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * A server process under supervision: pinned, killed by the kernel if the runner dies, its
 * output appended to the scenario's log.
 */
function spawnServer(
  file: string,
  args: string[],
  options: {
    cpus: number[] | undefined;
    logPath: string;
    cwd?: string | undefined;
    env?: Record<string, string> | undefined;
  },
): ResultPromise {
  const command = supervisedCommand(file, args, { cpus: options.cpus, deathSignal: 'TERM' });
  return execa(command.file, command.args, {
    reject: false,
    cwd: options.cwd,
    env: options.env,
    stdin: 'ignore',
    stdout: { file: options.logPath, append: true },
    stderr: { file: options.logPath, append: true },
    cleanup: true,
  });
}

async function descendants(pid: number): Promise<number[]> {
  const all: number[] = [];
  for (const child of await childPids(pid)) all.push(child, ...(await descendants(child)));
  return all;
}

export interface ScaleupServerOptions {
  resource: 'fixed' | 'file' | 'data';
  accept: 'shared' | 'rr' | 'reuseport';
  workers: number;
  backlog: number;
  send: SendMode;
  payloadBytes: number;
  cpus: number[] | undefined;
  host: string;
  logPath: string;
}

export async function startScaleupServer(options: ScaleupServerOptions): Promise<ServerUnderTest> {
  const port = await allocatePort(options.host);
  const workDir = await mkdtemp(join(tmpdir(), 'scaleup-bench-server-'));
  const statsFile = join(workDir, 'stats.json');
  const cli = scaleupCliCommand([
    'server',
    '--port',
    String(port),
    '--host',
    options.host,
    '--workers',
    String(options.workers),
    '--backlog',
    String(options.backlog),
    '--resource',
    options.resource,
    '--payload',
    String(options.payloadBytes),
    '--accept',
    options.accept,
    '--send',
    options.send,
    '--silence',
    '--interval',
    String(STATS_INTERVAL_SECONDS),
    '--stats-file',
    statsFile,
  ]);
  const child = spawnServer(cli.file, cli.args, { cpus: options.cpus, logPath: options.logPath });
  const readStats = async (): Promise<ServerStatsFile | undefined> => {
    try {
      const parsed = ServerStatsFileSchema.safeParse(JSON.parse(await readFile(statsFile, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  };
  const stop = async () => {
    await stopChild(child, 6000);
    await rm(workDir, { recursive: true, force: true });
  };
  let readyStats: ServerStatsFile;
  try {
    readyStats = await waitFor(
      async () => {
        if (child.exitCode !== null) {
          const log = await readFile(options.logPath, 'utf8').catch(() => '');
          throw new Error(
            `scaleup server exited with code ${child.exitCode}: ${log.trim().split('\n').slice(-3).join(' | ')}`,
          );
        }
        const stats = await readStats();
        return stats !== undefined && stats.event !== 'starting' && stats.workers.length === options.workers
          ? stats
          : undefined;
      },
      { timeoutMs: 20_000, what: `scaleup server (${options.resource}) on port ${port} to be ready` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://${options.host}:${port}/`,
    host: 'local',
    readFile: readLocalFile,
    description: {
      kind: 'scaleup',
      resource: options.resource,
      accept: options.accept,
      workers: options.workers,
      backlog: options.backlog,
      send: options.send,
      zeroCopy: readyStats.zeroCopy.active,
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
      // Wait for a snapshot written after this call, so the counters include everything served.
      const since = Date.now();
      try {
        process.kill(readyStats.masterPid, 'SIGUSR2');
      } catch {
        // Gone: the interval snapshots (or none) will have to do.
      }
      const stats = await waitFor(
        async () => {
          const s = await readStats();
          return s !== undefined && Date.parse(s.writtenAt) > since ? s : undefined;
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
  host: string;
  cpus: number[] | undefined;
  logPath: string;
  /** Checks one response; the runner's own verification, reused as the readiness probe. */
  probe: (url: string) => Promise<boolean>;
}

/** A user's server from a scenario's command line, with {port}-style placeholders filled. */
export async function startCommandServer(options: CommandServerOptions): Promise<ServerUnderTest> {
  const port = await allocatePort(options.host);
  const values = { port, host: options.host, payload: options.payloadBytes, workers: options.workers };
  const argv = options.command.map((part) => fillPlaceholders(part, values));
  const readyUrl = fillPlaceholders(options.readyUrl ?? 'http://{host}:{port}/', values);
  const url = options.url === undefined ? readyUrl : fillPlaceholders(options.url, values);
  const [file, ...args] = argv;
  const fix = options.install === undefined ? '' : `; install: ${options.install}`;
  if (options.check !== undefined) {
    const [checkFile, ...checkArgs] = options.check;
    const outcome = await execa(checkFile!, checkArgs, {
      reject: false,
      cwd: options.cwd,
      env: options.env,
      stdin: 'ignore',
      timeout: 30_000,
    });
    if (outcome.exitCode !== 0) {
      const why =
        outcome.exitCode === undefined
          ? outcome.shortMessage
          : (String(outcome.stderr ?? '')
              .trim()
              .split('\n')
              .pop() ?? `exit code ${outcome.exitCode}`);
      throw new Error(
        `'${options.check.join(' ')}' failed (${why || `exit code ${outcome.exitCode}`})${fix}`,
      );
    }
  }
  const child = spawnServer(file!, args, options);
  const stop = () => stopChild(child, 5000);
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(
            `'${argv.join(' ')}' exited with code ${child.exitCode} (log: ${options.logPath})${fix}`,
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
    host: 'local',
    readFile: readLocalFile,
    description: { kind: 'command', command: argv, cwd: options.cwd ?? null },
    async processes() {
      const pid = child.pid;
      if (pid === undefined || !(await isAlive(pid))) return [];
      return [pid, ...(await descendants(pid))].map((p) => ({ pid: p, role: 'server' as const }));
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
