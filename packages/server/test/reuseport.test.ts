import { execFile } from 'node:child_process';
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ServerStatsFileSchema } from '@scaleup/core';
import { waitFor } from '@scaleup/core/io';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { supportsReusePort } from '../src/options.ts';
import { loadReusePort, type ReusePortAddon, reusePortPlan } from '../src/reuse-port.ts';
import { buildZeroCopyAddon } from '../src/zero-copy-build.ts';
import {
  cleanupServers,
  http,
  readStats,
  runCli,
  startServer,
  stopServer,
  waitAllGone,
  waitForOutput,
} from './helpers.ts';

const run = promisify(execFile);

afterEach(async () => {
  await cleanupServers();
  for (const name of await readdir(tmpdir())) {
    if (name.startsWith(`scaleup-reuseport-stats-${process.pid}-`))
      await rm(join(tmpdir(), name), { force: true });
  }
});

function statsPath(name: string): string {
  return join(tmpdir(), `scaleup-reuseport-stats-${process.pid}-${name}-${Date.now()}.json`);
}

interface Listener {
  pid: number;
  backlog: number;
}

/** The listening sockets on `port` as `ss -ltnp` shows them: owner pids and backlog (Send-Q). */
async function listeners(port: number): Promise<{ owners: number[]; backlog: number }[]> {
  const { stdout } = await run('ss', ['-ltnpH', `sport = :${port}`]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => ({
      owners: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])),
      backlog: Number(line.trim().split(/\s+/)[2]),
    }));
}

const byNumber = (a: number, b: number) => a - b;

/**
 * Waits until the sockets listening on `port` are exactly one per pid of `pids` (none for an
 * empty list), each with one owner: nothing inherits a worker's listening socket. The kernel
 * tears a dead process's socket down a moment after its pid is gone, and `ss` can show it
 * ownerless meanwhile, so one read right after a kill or an exit races it.
 */
async function waitForListeners(port: number, pids: readonly number[], what: string): Promise<Listener[]> {
  const want = JSON.stringify([...pids].sort(byNumber));
  return waitFor(
    async () => {
      const shown = await listeners(port);
      const got = shown.map((l) => ({ pid: l.owners[0] as number, backlog: l.backlog }));
      const pidsNow = JSON.stringify(got.map((l) => l.pid).sort(byNumber));
      // Thrown, so that a timeout reports what was last seen.
      if (shown.some((l) => l.owners.length !== 1) || pidsNow !== want)
        throw new Error(`ss shows ${JSON.stringify(shown)}`);
      return got;
    },
    { timeoutMs: 10_000, what: `${what} (port ${port} listened on by pids ${want})` },
  );
}

/** Inodes of the sockets listening on `port`, from /proc/net/tcp (state 0A). */
async function listeningInodes(port: number): Promise<string[]> {
  const text = await readFile('/proc/net/tcp', 'utf8');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A')
    .map((f) => f[9]!);
}

async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
}

/** `count` requests, each on a fresh connection, `parallel` at a time. */
async function freshRequests(port: number, count: number, parallel = 20): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, count - i) }, () => http(port, '/')),
    );
    for (const res of batch) bodies.push(`${res.status} ${res.body.toString()}`);
  }
  return bodies;
}

/** Asks for a snapshot (SIGUSR2) until one counts at least `requests` requests. */
async function snapshotWith(masterPid: number, stats: string, requests: number) {
  return waitFor(
    async () => {
      process.kill(masterPid, 'SIGUSR2');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const s = await readStats(stats).catch(() => undefined);
      const total = s?.workers.reduce((n, w) => n + w.requests, 0) ?? 0;
      return s !== undefined && total >= requests ? s : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: `a snapshot counting ${requests} requests` },
  );
}

const REUSEPORT = ['--accept', 'reuseport', '--workers', '2'];

describe('--accept reuseport through the native addon', () => {
  it('gives every worker its own listening socket, none to the master, and serves the right bytes', async () => {
    const stats = statsPath('sockets');
    const server = await startServer([
      ...REUSEPORT,
      ...['--backlog', '1000', '--payload', '123', '--stats-file', stats, '--interval', '0'],
    ]);
    expect(server.readyLine).toContain('(2 workers, accept=reuseport, resource=file, payload=123 B');
    const res = await http(server.port, '/');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('*'.repeat(123));

    const workers = await server.workerPids();
    expect(workers).toHaveLength(2);
    const shown = await waitForListeners(server.port, workers, 'one socket per worker');
    expect(shown.every((l) => l.backlog === 1000)).toBe(true);

    const inodes = await listeningInodes(server.port);
    expect(inodes).toHaveLength(2);
    const master = await socketInodes(server.masterPid);
    const perWorker = await Promise.all(workers.map(socketInodes));
    for (const inode of inodes) {
      expect(master.has(inode)).toBe(false);
      expect(perWorker.filter((held) => held.has(inode))).toHaveLength(1);
    }
    // Each worker holds exactly one of them.
    for (const held of perWorker) expect(inodes.filter((inode) => held.has(inode))).toHaveLength(1);

    const ready = ServerStatsFileSchema.parse(await readStats(stats));
    expect(ready).toMatchObject({ event: 'ready', accept: 'reuseport', port: server.port, backlog: 1000 });
  });

  it('spreads fresh connections from many clients over both workers', async () => {
    const stats = statsPath('spread');
    const server = await startServer([
      ...REUSEPORT,
      ...['--resource', 'fixed', '--payload', '40', '--stats-file', stats, '--interval', '0'],
    ]);
    const bodies = await freshRequests(server.port, 200);
    expect(bodies.every((body) => body === `200 ${'*'.repeat(40)}`)).toBe(true);
    const snapshot = await snapshotWith(server.masterPid, stats, 200);
    expect(snapshot.workers).toHaveLength(2);
    expect(snapshot.workers.reduce((n, w) => n + w.connections, 0)).toBe(200);
    // The kernel hashes each new connection to one of the two sockets: both get some.
    for (const worker of snapshot.workers) expect(worker.requests).toBeGreaterThan(0);
  });

  it('respawns a killed worker, which opens its socket again on the same port', async () => {
    const stats = statsPath('respawn');
    const server = await startServer([
      ...REUSEPORT,
      ...['--resource', 'fixed', '--stats-file', stats, '--interval', '0'],
    ]);
    const ready = await readStats(stats);
    const victim = ready.workers.find((w) => w.slot === 1)!;
    process.kill(victim.pid, 'SIGKILL');
    const after = await waitFor(
      async () => {
        const s = await readStats(stats);
        const slot = s.workers.find((w) => w.slot === 1);
        return slot !== undefined && slot.pid !== victim.pid && slot.restarts === 1 ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'the respawned worker in the stats file' },
    );
    const pids = after.workers.map((w) => w.pid).sort(byNumber);
    // The master reaps the dead worker and the kernel closes its socket in their own time.
    await waitFor(
      async () =>
        JSON.stringify((await server.workerPids()).sort(byNumber)) === JSON.stringify(pids)
          ? true
          : undefined,
      { timeoutMs: 10_000, what: `the master's workers to be ${pids.join(', ')}` },
    );
    await waitForListeners(server.port, pids, 'the respawned worker listening');
    await waitForOutput(
      server.stderr,
      /worker 1 \(pid \d+\) died \(SIGKILL\)/,
      'the master to report the death',
    );
    const bodies = await freshRequests(server.port, 40);
    expect(bodies.every((body) => body.startsWith('200 '))).toBe(true);
  });

  it('works with --port 0 and stops everything on SIGTERM', async () => {
    const stats = statsPath('port0');
    const server = await startServer([...REUSEPORT, '--resource', 'fixed', '--stats-file', stats], {
      port: 0,
    });
    expect(server.port).toBeGreaterThan(0);
    expect(server.readyLine).toContain(`http://127.0.0.1:${server.port}/`);
    expect((await readStats(stats)).port).toBe(server.port);
    const workers = await server.workerPids();
    await waitForListeners(server.port, workers, 'one socket per worker');
    expect((await http(server.port, '/')).status).toBe(200);

    const exit = await stopServer(server, 'SIGTERM');
    expect(exit.code).toBe(0);
    await waitAllGone([server.masterPid, ...workers], 'the master and its workers to exit after SIGTERM');
    await waitForListeners(server.port, [], 'no socket left after SIGTERM');
    const final = await readStats(stats);
    expect(final.event).toBe('stopped');
    expect(final.workers.reduce((n, w) => n + w.requests, 0)).toBe(1);
  });

  it('takes its workers down when the master is SIGKILLed', async () => {
    const server = await startServer([...REUSEPORT, '--resource', 'fixed']);
    const workers = await server.workerPids();
    expect(workers).toHaveLength(2);
    process.kill(server.masterPid, 'SIGKILL');
    await waitAllGone(workers, 'reuseport workers to exit after the master died');
    await waitForListeners(server.port, [], 'no socket left after the master died');
  });

  it('refuses a port another server listens on, even one with SO_REUSEPORT sockets', async () => {
    const other = await startServer([...REUSEPORT, '--resource', 'fixed']);
    const shared = await startServer(['--workers', '1', '--resource', 'fixed']);
    for (const port of [other.port, shared.port]) {
      const result = await runCli([
        ...['--port', String(port), '--host', '127.0.0.1', ...REUSEPORT, '--resource', 'fixed'],
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`scaleup server: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    }
    // The running one still has just its own two sockets.
    await waitForListeners(other.port, await other.workerPids(), 'only the first server listening');
  });

  it.skipIf(supportsReusePort())(
    'without the addon, says in one line why and what to do, with exit code 2',
    async () => {
      const missing = join(tmpdir(), 'no-such-dir', 'zerocopy.node');
      const result = await runCli(['--port', '0', '--host', '127.0.0.1', ...REUSEPORT], 20_000, {
        SCALEUP_NATIVE_ADDON: missing,
      });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr.trim()).toBe(
        `scaleup server: --accept reuseport on Node ${process.versions.node} opens its sockets through the ` +
          `native addon, but the native addon is not built (no ${missing}); run pnpm build:native, or use --accept shared`,
      );
    },
  );
});

describe("the addon's socket functions", () => {
  let addon: ReusePortAddon;
  const fds: number[] = [];

  beforeAll(async () => {
    await buildZeroCopyAddon();
    const load = loadReusePort();
    if (load.addon === null) throw new Error(load.note);
    addon = load.addon;
  });

  afterEach(() => {
    for (const fd of fds.splice(0)) addon.closeFd(fd);
  });

  const open = (fd: number) => {
    fds.push(fd);
    return fd;
  };

  it('opens several listening SO_REUSEPORT sockets on one port, with the backlog', async () => {
    const reservation = open(addon.bindSocket('127.0.0.1', 0, true));
    const port = addon.socketPort(reservation);
    expect(port).toBeGreaterThan(0);
    // Bound, not listening: the port is held, but no socket listens yet.
    expect(await listeningInodes(port)).toEqual([]);
    const a = open(addon.listenReusePort('127.0.0.1', port, 321));
    const b = open(addon.listenReusePort('127.0.0.1', port, 321));
    expect(addon.socketPort(a)).toBe(port);
    expect(addon.socketPort(b)).toBe(port);
    const shown = await listeners(port);
    expect(shown).toHaveLength(2);
    expect(shown.every((l) => l.owners.join() === String(process.pid) && l.backlog === 321)).toBe(true);
    expect(await readlink(`/proc/self/fd/${a}`)).toMatch(/^socket:/);
  });

  it('throws errors with the errno name, number and syscall, and TypeErrors for bad arguments', () => {
    const listening = open(addon.listenReusePort('127.0.0.1', 0, 16));
    const port = addon.socketPort(listening);
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      open(addon.bindSocket('127.0.0.1', port, false));
    } catch (error) {
      thrown = error as NodeJS.ErrnoException;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({
      code: 'EADDRINUSE',
      errno: -98,
      syscall: 'bind',
      message: `127.0.0.1:${port}: Address already in use`,
    });
    expect(() => addon.listenReusePort('localhost', port, 16)).toThrow(TypeError);
    expect(() => addon.listenReusePort('127.0.0.1', 70_000, 16)).toThrow(TypeError);
    expect(() => addon.listenReusePort('127.0.0.1', port, 0)).toThrow(TypeError);
    expect(() => addon.socketPort(-1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('choosing how reuseport opens its sockets', () => {
  const missing = loadReusePort(join(tmpdir(), 'no-such-dir', 'zerocopy.node'));

  it('names the missing addon', () => {
    expect(missing.addon).toBeNull();
    expect(missing.note).toBe(
      `the native addon is not built (no ${join(tmpdir(), 'no-such-dir', 'zerocopy.node')})`,
    );
  });

  it('uses the addon on any Node, net reusePort only without it on Node >= 22.12, else refuses', async () => {
    await buildZeroCopyAddon();
    const present = loadReusePort();
    expect(reusePortPlan(present, '20.20.2', 'linux')).toBe('addon');
    expect(reusePortPlan(present, '24.0.0', 'linux')).toBe('addon');
    expect(reusePortPlan(missing, '22.12.0', 'linux')).toBe('net');
    expect(reusePortPlan(missing, '20.20.2', 'linux')).toEqual({
      refusal: `--accept reuseport on Node 20.20.2 opens its sockets through the native addon, but ${missing.note}; run pnpm build:native, or use --accept shared`,
    });
    expect(reusePortPlan(present, '24.0.0', 'darwin')).toEqual({
      refusal: expect.stringMatching(/needs Linux's SO_REUSEPORT .*this is darwin.*use --accept shared/),
    });
  });
});
