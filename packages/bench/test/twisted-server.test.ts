import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { allocatePort, childPids, isAlive, pidsMatching, waitFor } from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The seed's own design, run as the seed ran it: a Twisted master that listens, stops reading and
 * spawns workers that adopt the socket and accept on it themselves.
 */
const SCRIPT = fileURLToPath(new URL('../../../scenarios/seed-2013/twisted_server.py', import.meta.url));
const READY =
  /^twisted_server: ready on http:\/\/127\.0\.0\.1:(\d+)\/ workers=(\d+) resource=(\w+) payload=(\d+) backlog=(\d+) interpreter=(.+) twisted=(\S+) master=(\d+) worker_pids=([\d,]+)$/m;
/** PyPy's start (master, then workers importing Twisted in parallel) took up to ~10 s on two busy cores. */
const READY_TIMEOUT_MS = 45_000;
/** The server promises ~3 s; the slack is for two shared cores, not for the server. */
const STOP_DEADLINE_MS = 15_000;
const TEST_TIMEOUT_MS = 120_000;

interface Variant {
  name: string;
  executable: string;
  interpreter: RegExp;
  /** Why the variant cannot run here, with what to install; null when it can. */
  missing: string | null;
}

/** Whether `executable` runs and imports Twisted the way the script does (with Debian's fallback path). */
function missingReason(executable: string, install: string): string | null {
  const probe = spawnSync(
    executable,
    [
      '-c',
      'import sys\ntry:\n import twisted\nexcept ImportError:\n sys.path.append("/usr/lib/python3/dist-packages")\n import twisted\nprint(twisted.__version__)',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (probe.error) return `${executable} not found; install: ${install}`;
  if (probe.status !== 0) return `${executable} cannot import Twisted; install: ${install}`;
  return null;
}

const VARIANTS: Variant[] = [
  {
    name: 'pypy3',
    executable: 'pypy3',
    interpreter: /^PyPy \d+\.\d+\.\d+ \(Python 3\.\d+\.\d+\)$/,
    missing: missingReason('pypy3', 'apt-get install pypy3 python3-twisted'),
  },
  {
    // Explicit path: a pyenv python3 earlier on PATH has no Twisted.
    name: 'CPython (/usr/bin/python3)',
    executable: '/usr/bin/python3',
    interpreter: /^CPython 3\.\d+\.\d+$/,
    missing: missingReason('/usr/bin/python3', 'apt-get install python3 python3-twisted'),
  },
];

interface Started {
  child: ChildProcess;
  masterPid: number;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: RegExpExecArray;
  workerPids: number[];
}

/** Masters a test started, for afterEach; registered before they are ready. */
const started: { child: ChildProcess; masterPid: number }[] = [];
/** Every pid a test's servers ever had, so cleanup also reaches workers of a killed master. */
const knownPids = new Set<number>();
const tempRoots = new Set<string>();

async function noteChildren(masterPid: number): Promise<number[]> {
  const pids = await childPids(masterPid);
  for (const pid of pids) {
    knownPids.add(pid);
    const root = /--root\0([^\0]+)/.exec(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''));
    if (root?.[1]?.includes('twisted_server-')) tempRoots.add(root[1]);
  }
  return pids;
}

async function startTwisted(variant: Variant, args: string[]): Promise<Started> {
  const port = await allocatePort();
  const child = spawn(
    variant.executable,
    [SCRIPT, '--host', '127.0.0.1', '--port', String(port), '--workers', '2', '--silence', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const masterPid = child.pid!;
  knownPids.add(masterPid);
  started.push({ child, masterPid });
  const ready = await waitFor(
    async () => {
      if (hasExited) throw new Error(`exited before its ready line; stderr: ${stderr}`);
      await noteChildren(masterPid);
      return READY.exec(stdout) ?? undefined;
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: `${variant.name} twisted_server ready line` },
  );
  const workerPids = ready[9]!.split(',').map(Number);
  for (const pid of workerPids) knownPids.add(pid);
  await noteChildren(masterPid);
  return {
    child,
    masterPid,
    port,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    ready,
    workerPids,
  };
}

afterEach(async () => {
  for (const server of started.splice(0)) {
    await noteChildren(server.masterPid);
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }
  for (const pid of knownPids) {
    if (!(await isAlive(pid))) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  await waitFor(
    async () => {
      for (const pid of knownPids) if (await isAlive(pid)) return undefined;
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 20, what: 'killed twisted_server processes to end' },
  ).catch(() => undefined);
  knownPids.clear();
  // A SIGKILLed master cannot remove its temp root.
  for (const root of tempRoots) await rm(root, { recursive: true, force: true });
  tempRoots.clear();
});

interface RawResponse {
  status: number;
  head: string;
  body: Buffer;
}

/** GETs sent one after another on a single TCP connection; every answer must carry a Content-Length. */
function getOnOneConnection(port: number, count: number): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const responses: RawResponse[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error(`only ${responses.length} of ${count} answers in 10 s`)),
      10_000,
    );
    const finish = (error: Error | null) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(responses);
    };
    const send = () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length === null) {
          finish(new Error(`answer without Content-Length: ${head}`));
          return;
        }
        const total = end + 4 + Number(length[1]);
        if (buffered.length < total) return;
        responses.push({
          status: Number(head.split(' ')[1]),
          head,
          body: Buffer.from(buffered.subarray(end + 4, total)),
        });
        buffered = buffered.subarray(total);
        if (responses.length === count) {
          finish(null);
          return;
        }
        send();
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () =>
      finish(new Error(`connection closed after ${responses.length} of ${count} answers`)),
    );
  });
}

/** Keep-alive connections that have each had one answer, so a worker has certainly accepted them. */
function openAnswered(port: number, count: number): Promise<ReturnType<typeof connect>[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof connect>>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('error', reject);
          socket.once('data', () => resolve(socket));
          socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
        }),
    ),
  );
}

/** Socket inodes in a process's fd table. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  return inodes;
}

/** Inodes of IPv4 sockets whose local port is `port`, in TCP state `state` (0A listen, 01 established). */
async function tcpInodes(port: number, state: '0A' | '01'): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return (await readFile('/proc/net/tcp', 'utf8'))
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === state)
    .map((f) => f[9]!);
}

async function allGone(pids: number[]): Promise<true | undefined> {
  for (const pid of pids) if (await isAlive(pid)) return undefined;
  return true;
}

function runToExit(
  executable: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) knownPids.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    // 'close' comes once the pipes are drained too; 'exit' can come before the last output is read.
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const variant of VARIANTS) {
  const skip = variant.missing !== null;
  const title = (text: string) => (skip ? `${text} (skipped: ${variant.missing})` : text);

  describe(`twisted_server.py on ${variant.name}`, () => {
    it.skipIf(skip)(
      title('starts 2 workers, names interpreter and Twisted, serves the fixed resource over keep-alive'),
      async () => {
        const server = await startTwisted(variant, ['--resource', 'fixed', '--payload', '40']);
        const { ready } = server;
        expect(Number(ready[1])).toBe(server.port);
        expect(ready[2]).toBe('2');
        expect(ready[3]).toBe('fixed');
        expect(ready[4]).toBe('40');
        expect(ready[6]).toMatch(variant.interpreter);
        expect(ready[7]).toMatch(/^\d+\.\d+\.\d+/);
        expect(Number(ready[8])).toBe(server.masterPid);
        expect(server.workerPids).toHaveLength(2);
        expect((await childPids(server.masterPid)).sort()).toEqual([...server.workerPids].sort());
        expect(server.stdout().match(/twisted_server: ready/g)).toHaveLength(1);

        const answers = await getOnOneConnection(server.port, 2);
        for (const answer of answers) {
          expect(answer.status).toBe(200);
          expect(answer.head).toMatch(/\r\ncontent-type: text\/html/i);
          expect(answer.head).not.toMatch(/\r\nconnection: close/i);
          expect(answer.body.toString('latin1')).toBe('*'.repeat(40));
        }
        // Silent and clean: no tracebacks or deprecation warnings, only the server's own notes.
        for (const line of server
          .stderr()
          .split('\n')
          .filter((l) => l !== '')) {
          expect(line).toMatch(/^twisted_server: /);
        }
      },
      TEST_TIMEOUT_MS,
    );

    it.skipIf(skip)(
      title('serves static.File from its temp root (index.html of payload bytes) over keep-alive'),
      async () => {
        const server = await startTwisted(variant, ['--payload', '123']);
        expect(server.ready[3]).toBe('file');
        const answers = await getOnOneConnection(server.port, 2);
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        for (const answer of answers) expect(answer.body.toString('latin1')).toBe('*'.repeat(123));
      },
      TEST_TIMEOUT_MS,
    );

    it.skipIf(skip)(
      title('the master holds the listening socket, the workers accept on it and own every connection'),
      async () => {
        const server = await startTwisted(variant, ['--resource', 'fixed']);
        const sockets = await openAnswered(server.port, 8);
        try {
          const listening = await tcpInodes(server.port, '0A');
          expect(listening).toHaveLength(1);
          const listenInode = listening[0]!;
          const masterInodes = await socketInodes(server.masterPid);
          expect(masterInodes.has(listenInode)).toBe(true);
          const workerInodes = new Map<number, Set<string>>();
          for (const pid of server.workerPids) {
            const inodes = await socketInodes(pid);
            expect(inodes.has(listenInode)).toBe(true);
            workerInodes.set(pid, inodes);
          }
          const established = await tcpInodes(server.port, '01');
          expect(established).toHaveLength(sockets.length);
          for (const inode of established) {
            expect(masterInodes.has(inode)).toBe(false);
            const owners = server.workerPids.filter((pid) => workerInodes.get(pid)!.has(inode));
            expect(owners).toHaveLength(1);
          }
        } finally {
          for (const socket of sockets) socket.destroy();
        }
      },
      TEST_TIMEOUT_MS,
    );

    it.skipIf(skip)(
      title('SIGTERM stops master and workers, exits 0 and removes the temp root'),
      async () => {
        const server = await startTwisted(variant, []);
        const roots = [...tempRoots];
        expect(roots).toHaveLength(1);
        const root = roots[0]!;
        expect(existsSync(`${root}/index.html`)).toBe(true);
        expect((await getOnOneConnection(server.port, 1))[0]!.status).toBe(200);

        server.child.kill('SIGTERM');
        const exit = await Promise.race([
          server.exited,
          new Promise<null>((resolve) => setTimeout(() => resolve(null), STOP_DEADLINE_MS)),
        ]);
        expect(exit, `master still running ${STOP_DEADLINE_MS} ms after SIGTERM`).toEqual({
          code: 0,
          signal: null,
        });
        await waitFor(() => allGone(server.workerPids), {
          timeoutMs: 10_000,
          what: 'workers to be gone once the master exited',
        });
        expect(existsSync(root)).toBe(false);
        expect(await pidsMatching(root)).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );

    it.skipIf(skip)(
      title('SIGKILL of the master: the workers exit on their own'),
      async () => {
        const server = await startTwisted(variant, ['--resource', 'fixed']);
        server.child.kill('SIGKILL');
        await server.exited;
        await waitFor(() => allGone(server.workerPids), {
          timeoutMs: STOP_DEADLINE_MS,
          intervalMs: 50,
          what: `workers ${server.workerPids.join(',')} to exit after their master was SIGKILLed`,
        });
      },
      TEST_TIMEOUT_MS,
    );

    it.skipIf(skip)(
      title('a bad option exits 2 with one line on stderr'),
      async () => {
        for (const args of [['--workers', '0'], ['--no-such-option'], ['--resource', 'other']]) {
          const result = await runToExit(variant.executable, args);
          expect(result.code, args.join(' ')).toBe(2);
          expect(result.stdout).toBe('');
          const lines = result.stderr.split('\n').filter((l) => l !== '');
          expect(lines, args.join(' ')).toHaveLength(1);
          expect(lines[0]).toMatch(/^twisted_server: error: /);
        }
      },
      TEST_TIMEOUT_MS,
    );
  });
}
