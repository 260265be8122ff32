import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaleupCliCommand } from '@scaleup/bench';
import { foldPerfScript, profileBreakdown, type ScenarioProfile } from '@scaleup/core';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { profileLine, takeCpuProfile } from '../../src/commands/bench-profile.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('--cpu-profile on the command line', () => {
  it('takes the flag and its optional word out of argv, leaving the rest as it was', () => {
    expect(takeCpuProfile(['--only', '2a'])).toEqual({ argv: ['--only', '2a'], cpuProfile: undefined });
    expect(takeCpuProfile(['--cpu-profile', '--only', '2a'])).toEqual({
      argv: ['--only', '2a'],
      cpuProfile: 'server',
    });
    expect(takeCpuProfile(['--cpu-profile', 'tool', '--reps', '3'])).toEqual({
      argv: ['--reps', '3'],
      cpuProfile: 'tool',
    });
    expect(takeCpuProfile(['--cpu-profile=tool']).cpuProfile).toBe('tool');
    expect(takeCpuProfile(['--cpu-profile=server']).cpuProfile).toBe('server');
    // A value of another option that happens to be the word is that option's.
    expect(takeCpuProfile(['--out', 'tool'])).toEqual({ argv: ['--out', 'tool'], cpuProfile: undefined });
  });

  it('refuses another word with one line naming it', () => {
    expect(() => takeCpuProfile(['--cpu-profile=all'])).toThrow(
      "--cpu-profile takes 'tool' or nothing, got 'all'",
    );
  });

  it('pnpm bench --cpu-profile=bogus exits 2 with that line and creates no run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'scaleup-bench-profile-'));
    dirs.push(root);
    const cli = scaleupCliCommand(['bench', '--profile', 'smoke', '--no-report', '--cpu-profile=bogus']);
    const run = await execa(cli.file, cli.args, {
      reject: false,
      timeout: 60_000,
      env: { SCALEUP_RESULTS_DIR: root },
    });
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(/^scaleup.*--cpu-profile takes 'tool' or nothing, got 'bogus'$/);
    expect(await readdir(root)).toEqual([]);
  });

  it('--help documents the flag', async () => {
    const cli = scaleupCliCommand(['bench', '--help']);
    const run = await execa(cli.file, cli.args, { reject: false, timeout: 60_000 });
    expect(run.stdout).toMatch(/--cpu-profile \[tool\]/);
  });
});

describe('the line printed per profiled scenario', () => {
  const breakdown = profileBreakdown(
    foldPerfScript(
      [
        'node 10/10 [000] 1.000000: 1 cpu-clock:',
        '\tffffffff81000000 tcp_sendmsg ([kernel.kallsyms])',
        '\tffffffff81000001 do_syscall_64 ([kernel.kallsyms])',
        '\t7f0000000000 write (/usr/lib/libc.so.6)',
        '',
        'node 10/10 [000] 1.001000: 1 cpu-clock:',
        '\t7f0000001000 JS:*serve\u001b[31m file.js:1:1 (/tmp/perf-10.map)',
        '',
      ].join('\n'),
    ),
  );
  const profile: ScenarioProfile = {
    folded: 'profiles/2a.folded',
    samples: breakdown.samples,
    sampleHz: 999,
    event: 'cpu-clock',
    breakdown,
    tool: null,
  };

  it('gives the four shares and the top self function, escaping names from the profile', () => {
    const line = profileLine('2a', profile, null);
    expect(line).toMatch(/^2a: profile 2 samples: kernel 50%, native 0%, JS 50%, GC 0%; top self /);
    expect(line).toContain('profiles/2a.folded');
    expect(line).not.toContain('\u001b');
  });

  it('says why there is no profile', () => {
    expect(profileLine('2a', null, 'CPU profiles not recorded: perf is not installed')).toBe(
      '2a: no CPU profile: CPU profiles not recorded: perf is not installed',
    );
  });
});
