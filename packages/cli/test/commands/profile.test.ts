import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaleupCliCommand } from '@scaleup/bench';
import { ProfileBreakdownSchema, parseFolded } from '@scaleup/core';
import { detectPerf } from '@scaleup/driver';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupServers, startServer } from '../../../server/test/helpers.ts';

const dirs: string[] = [];

afterEach(async () => {
  await cleanupServers();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function profile(args: string[], env: Record<string, string> = {}) {
  const command = scaleupCliCommand(['profile', ...args]);
  return execa(command.file, command.args, { reject: false, timeout: 90_000, env });
}

/**
 * Keep-alive GETs on `connections` connections until `stop()` or `maxMs`, at most `maxRequests`:
 * a bounded load that gives the profiler something to see.
 */
function backgroundLoad(port: number, connections: number, maxMs: number, maxRequests: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + maxMs;
  let stopped = false;
  let done = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
  const loop = async () => {
    while (!stopped && Date.now() < deadline && done < maxRequests) {
      await one();
      done++;
    }
  };
  const all = Promise.all(Array.from({ length: connections }, loop));
  return {
    stop: async () => {
      stopped = true;
      await all;
      agent.destroy();
      return done;
    },
  };
}

const perf = await detectPerf();

describe('scaleup profile', () => {
  it.skipIf(!perf.ok)(
    `profiles our server under load: folded stacks with its JavaScript by name, and the breakdown${perf.ok ? '' : ` (skipped: ${perf.problem})`}`,
    async () => {
      const parent = await mkdtemp(join(tmpdir(), 'scaleup-profile-test-'));
      dirs.push(parent);
      // --out names a directory that does not exist yet, as a user's `--out profiles` would.
      const out = join(parent, 'profiles');
      const server = await startServer([
        '--workers',
        '1',
        '--resource',
        'fixed',
        '--perf-basic-prof',
        '--silence',
      ]);
      const [worker] = await server.workerPids();
      const load = backgroundLoad(server.port, 8, 30_000, 2_000_000);
      let run: Awaited<ReturnType<typeof profile>>;
      try {
        run = await profile([
          ...['--pid', String(server.masterPid), '--seconds', '2'],
          ...['--out', out, '--name', 'live', '--json'],
        ]);
      } finally {
        expect(await load.stop()).toBeGreaterThan(0);
      }
      expect(run.exitCode, run.stderr).toBe(0);
      // The worker writes its map; the master runs without one and needs no warning.
      expect(run.stderr).not.toMatch(/perf-<pid>\.map/);
      const document = JSON.parse(run.stdout);
      expect(document.pids).toEqual(expect.arrayContaining([server.masterPid, worker]));
      expect(document.folded).toBe('live.folded');
      const written = JSON.parse(await readFile(join(out, 'live.breakdown.json'), 'utf8'));
      expect(written).toEqual(document);
      const breakdown = ProfileBreakdownSchema.parse(document.breakdown);
      const stacks = parseFolded(await readFile(join(out, 'live.folded'), 'utf8'));
      expect(stacks.reduce((n, s) => n + s.samples, 0)).toBe(breakdown.samples);
      expect(breakdown.samples).toBeGreaterThan(50);
      expect(breakdown.kernelFraction).toBeGreaterThan(0);
      expect(breakdown.javascriptFraction).toBeGreaterThan(0);
      expect(breakdown.threads.map((t) => t.name)).toContain('node');
      // The perf map resolved our own functions: the HTTP loop shows by its source file.
      const frames = stacks.flatMap((s) => s.frames);
      expect(frames.some((f) => /^JS:.*http-server\.ts.*_\[j\]$/.test(f))).toBe(true);
      expect(frames.some((f) => f.endsWith('_[k]'))).toBe(true);
    },
    120_000,
  );

  it.skipIf(!perf.ok)(
    'warns in one line when no node process has a perf map, and still profiles',
    async () => {
      const out = await mkdtemp(join(tmpdir(), 'scaleup-profile-test-'));
      dirs.push(out);
      const run = await profile([
        '--pid',
        String(process.pid),
        '--no-children',
        '--seconds',
        '0.5',
        '--out',
        out,
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr.trim()).toBe(
        `scaleup profile: no /tmp/perf-<pid>.map for node pid ${process.pid}: JavaScript shows as [unknown] (start it with --perf-basic-prof)`,
      );
      expect(run.stdout).toMatch(/^profile of \d+ node for 0\.5 s: \d+ samples$/m);
      expect(run.stdout).toMatch(
        /^ {2}kernel [\d.]+% {3}native [\d.]+% {3}javascript [\d.]+% {3}gc [\d.]+%$/m,
      );
      expect(run.stdout).toContain(`wrote ${join(out, `profile-${process.pid}.folded`)}`);
    },
    60_000,
  );

  it('says in one line how to install perf when it is missing, exit 2, nothing written', async () => {
    const out = await mkdtemp(join(tmpdir(), 'scaleup-profile-test-'));
    dirs.push(out);
    const run = await profile(['--pid', String(process.pid), '--seconds', '1', '--out', out], {
      PATH: join(out, 'no-bin'),
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe('scaleup profile: perf is not installed: apt-get install linux-perf');
    expect(run.stdout).toBe('');
  });

  const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
  it.skipIf(!perf.ok || process.getuid?.() !== 0 || paranoid <= 1 || !existsSync('/usr/bin/setpriv'))(
    'says in one line that the kernel refuses a user other than root, and how to allow it, exit 2',
    async () => {
      const command = scaleupCliCommand(['profile', '--pid', String(process.pid), '--seconds', '1']);
      const run = await execa(
        '/usr/bin/setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', command.file, ...command.args],
        { reject: false, timeout: 60_000, env: { HOME: tmpdir() } },
      );
      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim()).toBe(
        `scaleup profile: the kernel refuses CPU profiles to non-root users (kernel.perf_event_paranoid is ${paranoid}): run as root, or: sysctl -w kernel.perf_event_paranoid=1`,
      );
    },
    60_000,
  );

  it.each([
    [['--seconds', '1'], /--pid is required/],
    [['--pid', 'x'], /--pid must be a whole number/],
    [['--pid', '1', '--seconds', '0'], /--seconds must be a number >= 0.1/],
    [['--pid', '1', '--name', '../x'], /--name must use/],
    [['--pid', '4194303'], /no process with pid 4194303/],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const run = await profile(args);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });
});
