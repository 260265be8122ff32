import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR } from '@scaleup/bench';
import { parseResults } from '@scaleup/core';
import { allocatePort, childPids, isAlive, waitFor } from '@scaleup/core/io';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { firstRepetitionIn } from '../../bench/test/helpers.ts';

/**
 * pnpm does not forward SIGTERM to the script it runs: supervisors, CI runners and `kill` signal
 * the pnpm pid, and the product must still stop with everything it started.
 */

const children: ResultPromise[] = [];
const seen = new Set<number>();
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.pid !== undefined && (await isAlive(child.pid))) child.kill('SIGKILL');
  for (const pid of seen) if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
  seen.clear();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function descendants(pid: number): Promise<number[]> {
  const all: number[] = [];
  for (const child of await childPids(pid)) all.push(child, ...(await descendants(child)));
  return all;
}

async function remember(pid: number): Promise<void> {
  for (const p of await descendants(pid)) seen.add(p);
}

async function allGone(timeoutMs: number, what: string) {
  await waitFor(async () => ((await Promise.all([...seen].map(isAlive))).some(Boolean) ? undefined : true), {
    timeoutMs,
    what,
  });
}

/** The bench's server work directories in /tmp: those whose stats name a master among `pids`. */
async function serverWorkDirsOf(pids: ReadonlySet<number>): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith('scaleup-bench-server-')) continue;
    const dir = join(tmpdir(), name);
    const stats = await readFile(join(dir, 'stats.json'), 'utf8').catch(() => null);
    const master = stats === null ? undefined : (JSON.parse(stats) as { masterPid?: number }).masterPid;
    if (master !== undefined && pids.has(master)) found.push(dir);
  }
  return found;
}

/** The node process running `bench` among `pids` (pnpm's script, below its shell). */
async function benchProcessOf(pids: number[]): Promise<number | undefined> {
  for (const pid of pids) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.some((a) => a.endsWith('cli/src/bin.ts')) && argv.includes('bench')) return pid;
  }
  return undefined;
}

/**
 * `pnpm bench` on the smoke profile with far more repetitions than a test waits for, until its
 * first measured repetition is in results.json; `poll` runs at every look, its processes are seen.
 */
async function benchUntilFirstRepetition(poll: () => Promise<void> = async () => {}) {
  const out = await mkdtemp(join(tmpdir(), 'scaleup-launcher-'));
  dirs.push(out);
  const child = pnpm([
    ...['bench', '--profile', 'smoke', '--reps', '30', '--only', '2a,nginx-2'],
    ...['--out', out, '--no-report'],
  ]);
  await waitFor(
    async () => {
      await remember(child.pid!);
      await poll();
      return firstRepetitionIn(out);
    },
    { timeoutMs: 90_000, intervalMs: 100, what: 'a first measured repetition' },
  );
  await remember(child.pid!);
  return { out, child };
}

function pnpm(args: string[]): ResultPromise {
  const child = execa('pnpm', args, { cwd: REPO_DIR, reject: false, timeout: 120_000, all: true });
  children.push(child);
  return child;
}

const hasPnpm = (await execa('pnpm', ['--version'], { reject: false })).exitCode === 0;

describe('dying with the launcher', () => {
  it.skipIf(!hasPnpm)(
    'SIGTERM to `pnpm server` stops the master and every worker',
    async () => {
      const port = await allocatePort();
      const child = pnpm([
        'server',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--workers',
        '2',
        '--silence',
      ]);
      let output = '';
      child.all?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(async () => (/master pid \d+\)/.test(output) ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the server to be ready',
      });
      const master = Number(/master pid (\d+)/.exec(output)?.[1]);
      await waitFor(async () => ((await childPids(master)).length === 2 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'both workers',
      });
      seen.add(master);
      await remember(child.pid!);
      expect(seen.size).toBeGreaterThanOrEqual(3);
      child.kill('SIGTERM');
      await child;
      await allGone(10_000, 'the master and workers to exit after pnpm got SIGTERM');
    },
    60_000,
  );

  it.skipIf(!hasPnpm)(
    'SIGTERM to `pnpm bench` stops the run, keeps the partial results, and leaves nothing',
    async () => {
      const { out, child } = await benchUntilFirstRepetition();
      child.kill('SIGTERM');
      await child;
      await allGone(15_000, 'the bench, its servers, nginx and the load tool to exit');
      const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
      expect(results.complete).toBe(false);
      expect(results.interrupted).toMatch(/SIGTERM/);
      // Stopped long before 30 rounds x 2 scenarios.
      expect(results.scenarios.flatMap((s) => s.repetitions).length).toBeLessThan(20);
    },
    150_000,
  );

  // Regression: `kill` of pnpm and the bench together (a process group, a supervisor signalling
  // every pid) reached the bench twice: its own SIGTERM, then the launcher watcher's for pnpm's
  // death, which it took for an impatient second signal. It exited at once: no partial results
  // marked interrupted, and the servers' work directories (their stats files) left in /tmp.
  it.skipIf(!hasPnpm)(
    'SIGTERM to `pnpm bench` and to the bench itself at once: still one clean stop',
    async () => {
      const workDirs = new Set<string>();
      const { out, child } = await benchUntilFirstRepetition(async () => {
        for (const dir of await serverWorkDirsOf(seen)) workDirs.add(dir);
      });
      const bench = await benchProcessOf([...seen]);
      expect(bench).toBeDefined();
      expect(workDirs.size).toBeGreaterThan(0);
      child.kill('SIGTERM');
      process.kill(bench!, 'SIGTERM');
      await child;
      await allGone(15_000, 'the bench, its servers, nginx and the load tool to exit');
      const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
      expect(results.interrupted).toMatch(/SIGTERM/);
      expect([...workDirs].filter((dir) => existsSync(dir))).toEqual([]);
    },
    150_000,
  );

  it('the scaleup bin runs as one process: SIGTERM to it stops the server and its workers', async () => {
    const port = await allocatePort();
    const child = execa(
      join(REPO_DIR, 'node_modules/.bin/scaleup'),
      ['server', '--port', String(port), '--host', '127.0.0.1', '--workers', '2', '--silence'],
      {
        reject: false,
        timeout: 60_000,
        all: true,
      },
    );
    children.push(child);
    let output = '';
    child.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor(async () => (/master pid \d+\)/.test(output) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the server to be ready',
    });
    // No package manager or shell in between: the pid we started is node itself, the master.
    expect((await readFile(`/proc/${child.pid}/comm`, 'utf8')).trim()).toBe('node');
    expect(output).toContain(`master pid ${child.pid}`);
    seen.add(child.pid!);
    await remember(child.pid!);
    expect(seen.size).toBe(3);
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
    await allGone(10_000, 'the workers to exit');
  }, 60_000);
});
