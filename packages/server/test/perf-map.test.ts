import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupServers, http, startServer, stopServer, waitAllGone } from './helpers.ts';

let workDir: string | undefined;
const maps: string[] = [];

afterEach(async () => {
  await cleanupServers();
  for (const map of maps.splice(0)) await rm(map, { force: true });
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  workDir = undefined;
});

describe('--perf-basic-prof', () => {
  it("writes each worker's perf map and leaves no V8 log in the directory it was started from", async () => {
    workDir = await mkdtemp(join(tmpdir(), 'scaleup-perf-map-'));
    const server = await startServer(['--workers', '2', '--resource', 'fixed', '--perf-basic-prof'], {
      cwd: workDir,
    });
    const workers = await server.workerPids();
    expect(workers).toHaveLength(2);
    maps.push(...workers.map((pid) => `/tmp/perf-${pid}.map`));
    // The map fills as code is compiled: a request makes sure the serving path is in it.
    expect((await http(server.port, '/')).status).toBe(200);
    await waitFor(async () => (maps.every((map) => existsSync(map)) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'every worker perf map',
    });
    await stopServer(server);
    await waitAllGone([server.masterPid, ...workers], 'the server and its workers');
    // Node 20 opened isolate-*-v8.log here for every worker with --perf-basic-prof alone.
    expect((await readdir(workDir)).filter((name) => name.endsWith('-v8.log'))).toEqual([]);
  });
});
