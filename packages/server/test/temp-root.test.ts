import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempRoot, pidAlive, sweepStaleTempRoots, TEMP_ROOT_PATTERN } from '../src/temp-root.ts';
import { cleanupServers, http, type RunningServer, startServer, waitAllGone } from './helpers.ts';

/** Paths a test made, removed after it even when it fails. */
const made: string[] = [];

afterEach(async () => {
  await cleanupServers();
  for (const path of made.splice(0)) await rm(path, { recursive: true, force: true });
});

/** A pid that was a process a moment ago and is now gone (and reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

/** The temp root a server's workers serve, from the config in a worker's environment. */
async function tempRootOf(server: RunningServer): Promise<string> {
  const [worker] = await server.workerPids();
  const environ = await readFile(`/proc/${worker}/environ`, 'utf8');
  const root = /"root":"([^"]+)"/.exec(environ)?.[1];
  if (root === undefined) throw new Error(`no root in the environment of worker ${worker}`);
  return root;
}

describe('temp roots', () => {
  it('are named after the master pid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scaleup-temp-root-test-'));
    made.push(dir);
    const root = makeTempRoot(dir, 4242);
    expect(root.startsWith(join(dir, 'scaleup-server-4242-'))).toBe(true);
    expect(TEMP_ROOT_PATTERN.test(root.slice(dir.length + 1))).toBe(true);
  });

  it('knows live from dead pids', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(1)).toBe(true);
    expect(pidAlive(await deadPid())).toBe(false);
  });

  it('sweeps only directories of the exact pattern whose pid is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scaleup-temp-root-test-'));
    made.push(dir);
    const dead = 999_999;
    const live = 4242;
    const stale = join(dir, `scaleup-server-${dead}-aB3xYz`);
    await mkdir(join(stale, 'sub'), { recursive: true });
    await writeFile(join(stale, 'index.html'), '*');
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'x');
    const kept = [
      join(dir, `scaleup-server-${live}-aB3xYz`), // a live master's
      join(dir, `scaleup-server-${process.pid}-aB3xYz`), // this process's own
      join(dir, `scaleup-server-${dead}-short`), // not six characters
      join(dir, `scaleup-server-${dead}-aB3xYz7`),
      join(dir, `scaleup-server-stats-${dead}-aB3xYz`),
      join(dir, `scaleup-server-test-aB3xYz`),
      join(dir, `other-${dead}-aB3xYz`),
    ];
    for (const path of kept) await mkdir(path);
    const file = join(dir, `scaleup-server-${dead}-file01`);
    await writeFile(file, 'not a directory');
    const link = join(dir, `scaleup-server-${dead}-link01`);
    await symlink(outside, link);

    const removed = sweepStaleTempRoots(dir, (pid) => pid === live);
    expect(removed).toEqual([stale]);
    expect(existsSync(stale)).toBe(false);
    for (const path of [...kept, file, link, join(outside, 'keep')]) expect(existsSync(path)).toBe(true);
    // Nothing to do the second time, and a missing directory is no error.
    expect(sweepStaleTempRoots(dir, (pid) => pid === live)).toEqual([]);
    expect(sweepStaleTempRoots(join(dir, 'missing'))).toEqual([]);
  });

  it("removes a SIGKILLed master's temp root at the next start, and leaves a live server's alone", async () => {
    const live = await startServer(['--workers', '1', '--payload', '11']);
    const liveRoot = await tempRootOf(live);
    expect(liveRoot).toContain(`scaleup-server-${live.masterPid}-`);

    const killed = await startServer(['--workers', '1', '--payload', '12']);
    const killedRoot = await tempRootOf(killed);
    const killedWorkers = await killed.workerPids();
    expect(killedRoot).toContain(`scaleup-server-${killed.masterPid}-`);
    expect(existsSync(join(killedRoot, 'index.html'))).toBe(true);
    process.kill(killed.masterPid, 'SIGKILL');
    await killed.exited;
    await waitAllGone(killedWorkers, 'the killed master’s worker to exit');
    // Something of the pattern's shape that is not a temp root: left alone.
    const unrelated = join(tmpdir(), `scaleup-server-${killed.masterPid}-keep-me`);
    await mkdir(unrelated);
    made.push(unrelated);

    const next = await startServer(['--workers', '1', '--resource', 'fixed']);
    expect(existsSync(killedRoot)).toBe(false);
    expect(existsSync(unrelated)).toBe(true);
    expect(existsSync(join(liveRoot, 'index.html'))).toBe(true);
    expect((await http(live.port, '/')).body.toString()).toBe('*'.repeat(11));
    expect((await http(next.port, '/')).status).toBe(200);
  });
});
