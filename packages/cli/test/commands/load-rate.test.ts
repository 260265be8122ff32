import { fileURLToPath } from 'node:url';
import { scaleupCliCommand } from '@scaleup/bench';
import { type LoadResult, LoadResultSchema } from '@scaleup/core';
import { loadProblems } from '@scaleup/driver';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../../driver/test/support/http-server.ts';

const fixture = (path: string) =>
  fileURLToPath(new URL(`../../../driver/test/fixtures/${path}`, import.meta.url));

function cli(args: string[]) {
  const command = scaleupCliCommand(args);
  return execa(command.file, command.args, { reject: false, timeout: 60_000 });
}

describe('load --rate (open loop)', () => {
  it('offers the rate with openloop and prints the LoadResult with its schedule', async () => {
    const peer = await startServer(40);
    try {
      const run = await cli([
        'load',
        '--rate',
        '500',
        '-d',
        '1',
        '-c',
        '2',
        '--expect-bytes',
        '40',
        '--json',
        peer.url,
      ]);
      const result: LoadResult = LoadResultSchema.parse(JSON.parse(run.stdout));
      expect(result.tool).toBe('openloop');
      expect(result.requests).toMatchObject({ total: 500, succeeded: 500, failed: 0, errored: 0 });
      expect(result.latency.measuredFrom).toBe('intended-send');
      expect(result.openLoop?.offeredPerSecond).toBe(500);
      expect(result.argv).toContain('--rate');
      // A busy machine can make the tool late: then, and only then, the exit code says so.
      const problems = loadProblems(result);
      expect(run.exitCode).toBe(problems.length === 0 ? 0 : 1);
      for (const p of problems) expect(run.stderr).toContain(`! ${p}`);
    } finally {
      await peer.close();
    }
  });

  it('says what an open-loop capture measured and fails one whose tool fell behind', async () => {
    const stall = await cli(['load', 'parse', '--tool', 'openloop', fixture('openloop/stall-1s-1000.txt')]);
    expect(stall.stdout).toMatch(/p99 964\.10 ms, max 1,002\.41 ms \(from the intended send times\)/);
    expect(stall.stdout).toMatch(
      /^open loop {5}offered 1,000\.0\/s, achieved 999\.8\/s; 964 of 4,000 sends late/m,
    );
    expect(stall.stdout).toMatch(/^! the load tool fell behind its schedule: 964 of 4000 sends/m);
    expect(stall.exitCode).toBe(1);
  });

  it('refuses a rate for a closed-loop tool in one line, exit 2', async () => {
    const run = await cli(['load', '--rate', '100', '-d', '1', '--tool', 'wrk', 'http://127.0.0.1:9/']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'scaleup load: wrk runs closed loop and cannot offer a constant rate: use --tool openloop',
    ]);
  });
});
