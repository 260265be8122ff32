import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destinationProblem, UsageError } from '@scaleup/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDestinations, checkOutDir, discardIfNothingRan } from '../src/run-inputs.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-run-inputs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ssh destinations', () => {
  it('takes host names, user@host, ssh:// URLs and config Hosts', () => {
    for (const ok of ['lab1', 'me@lab1.example.org', 'ssh://me@10.0.0.2:2222', '[::1]', 'lab_b.internal'])
      expect(destinationProblem(ok), ok).toBeNull();
  });

  it('refuses what ssh would take for an option, and whitespace or control characters', () => {
    expect(destinationProblem('-oProxyCommand=touch /tmp/x')).toMatch(/starts with '-'/);
    expect(destinationProblem('')).toMatch(/empty/);
    for (const bad of ['a b', 'a\tb', 'a\nb', 'lab\u001b[2J', 'lab\u202e', 'lab\u2028'])
      expect(destinationProblem(bad), JSON.stringify(bad)).toMatch(/whitespace or a control/);
  });

  it('names the role and the host, quoted, in one line', () => {
    const error = (() => {
      try {
        checkDestinations({ loadHosts: ['ok', 'x\ny'], serverHost: null });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      'load host "x\\ny" is not an ssh destination: it contains whitespace or a control or formatting character',
    );
    expect(() => checkDestinations({ loadHosts: [], serverHost: '-F/tmp/cfg' })).toThrow(/^server host "-F/);
  });
});

describe('--out', () => {
  it('takes a directory or a path where one can be made, refuses a file or a path under one', async () => {
    await checkOutDir(dir);
    await checkOutDir(join(dir, 'new/run'));
    await writeFile(join(dir, 'file'), '');
    await expect(checkOutDir(join(dir, 'file'))).rejects.toThrow(/exists and is not a directory/);
    await expect(checkOutDir(join(dir, 'file/run'))).rejects.toThrow(/lies under a file/);
  });
});

describe('a failed run directory', () => {
  it('goes when the run was refused or wrote no results.json; stays once results.json exists', async () => {
    const refused = join(dir, 'refused');
    await mkdir(join(refused, 'raw'), { recursive: true });
    await writeFile(join(refused, 'results.json'), '{}');
    expect(await discardIfNothingRan(refused, new UsageError('no'))).toBe(true);
    expect(existsSync(refused)).toBe(false);

    const crashedEarly = join(dir, 'early');
    await mkdir(join(crashedEarly, 'logs'), { recursive: true });
    expect(await discardIfNothingRan(crashedEarly, new Error('boom'))).toBe(true);
    expect(existsSync(crashedEarly)).toBe(false);

    const crashedLate = join(dir, 'late');
    await mkdir(crashedLate);
    await writeFile(join(crashedLate, 'results.json'), '{}');
    expect(await discardIfNothingRan(crashedLate, new Error('boom'))).toBe(false);
    expect(existsSync(join(crashedLate, 'results.json'))).toBe(true);
  });
});
