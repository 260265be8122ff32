import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  allocatePort,
  childPids,
  isAlive,
  type SupervisedCommand,
  supervisedCommand,
  waitFor,
} from '@scaleup/core/io';
import { sweepStaleTempRoots } from '../src/temp-root.ts';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
/** tsx's loader by path: a server started from another directory cannot resolve the bare name. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const READY =
  /^scaleup server ready: http:\/\/(.+):(\d+)\/ \((\d+) workers, accept=(\w+), resource=(\w+), payload=(\d+) B, send=(write|sendfile from \d+ B), master pid (\d+)\)$/m;

export interface RunningServer {
  child: ChildProcess;
  port: number;
  masterPid: number;
  stdout: () => string;
  stderr: () => string;
  readyLine: string;
  /** Current worker pids (the master's children that run worker-main). */
  workerPids: () => Promise<number[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<RunningServer>();
/** Every pid any started server ever had, so cleanup can reach workers of a dead master. */
const knownPids = new Set<number>();

export async function runCli(
  args: string[],
  timeoutMs = 20_000,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  // 'close' comes once the pipes are drained too; 'exit' can come before the last output is read.
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The real server on loopback `port`, under supervisedCommand: what startServer runs. */
export function serverCommand(port: number, args: string[]): SupervisedCommand {
  return supervisedCommand(process.execPath, [
    '--import',
    TSX,
    BIN,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    ...args,
  ]);
}

/**
 * Starts the real multi-process server on an allocated loopback port (or `port`, 0 letting the
 * kernel pick) and waits for its ready line; `port` is then the one the ready line names.
 */
export async function startServer(
  args: string[],
  options: { port?: number; cwd?: string } = {},
): Promise<RunningServer> {
  const port = options.port ?? (await allocatePort());
  const command = serverCommand(port, args);
  const child = spawn(command.file, command.args, {
    cwd: options.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  if (child.pid !== undefined) knownPids.add(child.pid);
  const masterPid = child.pid!;
  const server: RunningServer = {
    child,
    port,
    masterPid,
    stdout: () => stdout,
    stderr: () => stderr,
    readyLine: '',
    workerPids: async () => {
      const pids = await childPids(masterPid);
      for (const pid of pids) knownPids.add(pid);
      // Not every child is a worker: tsx's esbuild service runs under the master too whenever its
      // transform cache is cold (right after a source file changed).
      const workers: number[] = [];
      for (const pid of pids) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes('worker-main')) workers.push(pid);
      }
      return workers;
    },
    exited,
  };
  started.add(server);
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  const match = await waitFor(
    async () => {
      if (exitedEarly) throw new Error(`server exited before ready: ${stderr}`);
      await server.workerPids();
      return READY.exec(stdout) ?? undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, what: `server ready line (stderr: ${stderr})` },
  );
  server.readyLine = match[0];
  server.port = Number(match[2]);
  expectEqual(Number(match[8]), masterPid, 'master pid in the ready line');
  await server.workerPids();
  return server;
}

function expectEqual(a: unknown, b: unknown, what: string): void {
  if (a !== b) throw new Error(`${what}: ${String(a)} !== ${String(b)}`);
}

/** SIGKILLs every process a test started that is still alive: masters first, then their workers. */
export async function cleanupServers(): Promise<void> {
  for (const server of started) {
    await server.workerPids().catch(() => []);
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }
  started.clear();
  for (const pid of knownPids) {
    if (await isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  // A SIGKILLed master leaves its temp root; the next start would sweep it, but do it now.
  await waitFor(
    async () => {
      for (const pid of knownPids) if (await isAlive(pid)) return undefined;
      return true;
    },
    { timeoutMs: 5000, intervalMs: 20, what: 'killed server processes to end' },
  ).catch(() => undefined);
  knownPids.clear();
  sweepStaleTempRoots();
}

export async function stopServer(server: RunningServer, signal: NodeJS.Signals = 'SIGTERM') {
  server.child.kill(signal);
  return server.exited;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on its own connection. */
export function http(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`timeout on ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Writes raw bytes (optionally half-closing after) and collects the answer until the server closes (or the timeout). */
export function raw(
  port: number,
  parts: (string | Buffer)[],
  options: { timeoutMs?: number; gapMs?: number; halfClose?: boolean } = {},
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByServer: false });
      // An upper bound, not a wait: the answer comes as soon as the server closes.
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve({ text, closedByServer: true });
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        socket.write(part);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
      if (options.halfClose) socket.end();
    });
  });
}

export async function readStats(path: string): Promise<
  Record<string, unknown> & {
    event: string;
    workers: { slot: number; pid: number; requests: number; connections: number; restarts: number }[];
  }
> {
  return JSON.parse(await readFile(path, 'utf8'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until none of `pids` is alive. A process's exit, and its reaping once its parent is gone,
 * take their time on a busy machine: one read right after a kill or an exit races them.
 */
export async function waitAllGone(pids: readonly number[], what: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      for (const pid of pids) if (await isAlive(pid)) return undefined;
      return true;
    },
    { timeoutMs, intervalMs: 20, what },
  );
}

/**
 * Waits until the server side of every connection to `port` has an empty receive queue: what
 * a client sent has been read by the worker, not merely sent.
 */
export async function waitForServerRead(port: number): Promise<void> {
  await waitFor(
    async () => {
      const { stdout } = await execFileAsync('ss', ['-tnH', 'state', 'established', `sport = :${port}`]);
      const queues = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => Number(line.trim().split(/\s+/)[0]));
      return queues.length > 0 && queues.every((q) => q === 0) ? true : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20, what: `the server to read what was sent to port ${port}` },
  );
}

/**
 * Waits until `read()` (a process's collected stdout or stderr) matches `pattern`. Its two pipes
 * are read apart: a line on one says nothing about when the other's lines arrive.
 */
export async function waitForOutput(
  read: () => string,
  pattern: RegExp | string,
  what: string,
): Promise<string> {
  return waitFor(
    async () => {
      const text = read();
      return (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) ? text : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20, what: `${what} (${String(pattern)})` },
  );
}
