import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServerStatsFileSchema } from '@scaleup/core';
import { allocatePort, childPids, supervisedCommand, waitFor } from '@scaleup/core/io';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const READY = /^scaleup server ready: http:\/\/127\.0\.0\.1:(\d+)\/ .* master pid (\d+)\)$/m;

export interface ScaleupServer {
  url: string;
  masterPid: number;
  /** The worker processes (the master's children), which serve the requests. */
  workerPids(): Promise<number[]>;
  /** Requests served so far, by the workers' own counters (a fresh stats-file snapshot). */
  servedRequests(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The real scaleup server (one worker, `fixed` 40 B unless told otherwise) on an allocated
 * loopback port, with a stats file, for tests that load it.
 */
export async function startScaleupServer(args: string[] = []): Promise<ScaleupServer> {
  const port = await allocatePort();
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-openloop-'));
  const statsFile = join(dir, 'stats.json');
  const command = supervisedCommand(process.execPath, [
    '--import',
    'tsx',
    'packages/server/src/bin.ts',
    ...['--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--resource', 'fixed'],
    ...['--payload', '40', '--interval', '0', '--silence', '--stats-file', statsFile, ...args],
  ]);
  const child = spawn(command.file, command.args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const server = handle(child, port, statsFile, exited, dir);
  try {
    await waitFor(
      async () =>
        child.exitCode !== null ? Promise.reject(new Error(output)) : (READY.exec(output) ?? undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: 'scaleup server ready line',
      },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

function handle(
  child: ChildProcess,
  port: number,
  statsFile: string,
  exited: Promise<void>,
  dir: string,
): ScaleupServer {
  const masterPid = child.pid!;
  const workerPids = async () => {
    const pids: number[] = [];
    for (const pid of await childPids(masterPid)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('worker-main')) pids.push(pid);
    }
    return pids;
  };
  const readStats = async () => ServerStatsFileSchema.parse(JSON.parse(await readFile(statsFile, 'utf8')));
  return {
    url: `http://127.0.0.1:${port}/`,
    masterPid,
    workerPids,
    async servedRequests() {
      const asked = Date.now();
      process.kill(masterPid, 'SIGUSR2');
      const stats = await waitFor(
        async () => {
          const s = await readStats();
          return Date.parse(s.writtenAt) >= asked - 1 ? s : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 25, what: 'a fresh stats-file snapshot' },
      );
      return stats.workers.reduce((n, w) => n + w.requests, 0) + stats.retired.requests;
    },
    async stop() {
      for (const pid of await workerPids().catch(() => [])) process.kill(pid, 'SIGCONT');
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 8_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
