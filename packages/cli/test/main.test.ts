import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaleupCliCommand } from '@scaleup/bench';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const COMMANDS = ['server', 'nginx', 'load', 'bench', 'report', 'compare', 'preflight'];

function cli(args: string[]) {
  const command = scaleupCliCommand(args);
  return execa(command.file, command.args, { reject: false, timeout: 60_000 });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-cli-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scaleup CLI', () => {
  it('lists every command and exits 0 on --help', async () => {
    const run = await cli(['--help']);
    expect(run.exitCode).toBe(0);
    for (const name of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it.each(COMMANDS)('%s --help prints usage and exits 0', async (name) => {
    const run = await cli([name, '--help']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/usage/i);
  });

  it('refuses an unknown command with one line and exit code 2', async () => {
    const run = await cli(['frobnicate']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it.each([
    [['bench', '--profile', 'nope'], /unknown --profile 'nope'/],
    [['bench', '--reps', 'many'], /--reps must be a whole number/],
    [['bench', '--only', '1a,zz'], /unknown scenario zz/],
    [['bench', '--requests', '10', '--duration', '1'], /exclude each other/],
    [['bench', '--frob'], /Unknown option '--frob'/],
    [['preflight', '--profile', 'nope'], /unknown --profile/],
  ])('bench input %j gets one clear line and exit code 2', async (args, message) => {
    const run = await cli(args);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });

  it('reports every problem of a bad suite file at once, and writes nothing', async () => {
    const suite = join(dir, 'bad-suite.json');
    await writeFile(
      suite,
      JSON.stringify({
        suite: 'bad',
        typo: 1,
        scenarios: [{ id: 'x', label: 'x', payloadBytes: -5, server: { kind: 'scaleup', resource: 'disk' } }],
      }),
    );
    const out = join(dir, 'never-written');
    const run = await cli(['bench', '--suite', suite, '--out', out]);
    expect(run.exitCode).toBe(2);
    const line = run.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('bad-suite.json: 3 problems');
    expect(line).toContain('typo');
    expect(line).toContain('scenarios.0.payloadBytes');
    expect(line).toContain('scenarios.0.server.resource');
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });

  it('preflight describes the machine and changes nothing (--json)', async () => {
    const run = await cli(['preflight', '--json']);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout) as {
      environment: { logicalCores: number; sysctls: Record<string, string> };
      tuning: { setting: string; fix: string }[];
    };
    expect(report.environment.logicalCores).toBeGreaterThan(0);
    expect(Object.keys(report.environment.sysctls)).toContain('net.core.somaxconn');
    expect(report.tuning.map((t) => t.setting)).toContain('net.core.somaxconn');
  });
});
