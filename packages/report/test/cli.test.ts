import { join } from 'node:path';
import { UsageError } from '@scaleup/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
// The CLI's subcommands are thin layers over this package; they are tested here, beside it.
import { compareCommand } from '../../cli/src/commands/compare.ts';
import { reportCommand } from '../../cli/src/commands/report.ts';
import { machineB } from './fixtures/build.ts';
import { fixturesDir, runDir, tempDir } from './fixtures/files.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
  return { out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('scaleup report', () => {
  it('prints help', async () => {
    const { out } = capture();
    expect(await reportCommand.run(['--help'])).toBe(0);
    expect(out.join('')).toContain(
      'usage: scaleup report <run directory | results.json> [--out DIR] [--format LIST]',
    );
  });

  it('writes the reports and prints their paths', async () => {
    const dir = runDir();
    const out = tempDir();
    const io = capture();
    expect(await reportCommand.run([dir, '--out', out])).toBe(0);
    expect(io.out.join('')).toBe(
      ['xlsx', 'pdf', 'html', 'md'].map((ext) => `${join(out, `results.${ext}`)}\n`).join(''),
    );
  });

  it('--format chooses the reports; a bad value is one line (exit 2)', async () => {
    const out = tempDir();
    const io = capture();
    expect(await reportCommand.run([runDir(), '--out', out, '--format', 'md,html'])).toBe(0);
    expect(io.out.join('')).toBe(`${join(out, 'results.html')}\n${join(out, 'results.md')}\n`);
    await expect(reportCommand.run([runDir(), '--format', 'html,docx'])).rejects.toThrow(
      /^--format takes a comma list of html, md, xlsx, pdf, got 'html,docx'$/,
    );
    await expect(reportCommand.run([runDir(), '--format', ''])).rejects.toThrow(UsageError);
  });

  it('turns bad input into a UsageError (one line, exit 2)', async () => {
    await expect(reportCommand.run([])).rejects.toThrow(UsageError);
    await expect(reportCommand.run(['a', 'b'])).rejects.toThrow(/expected one run directory/);
    await expect(reportCommand.run(['--bogus'])).rejects.toThrow(UsageError);
    await expect(reportCommand.run([join(fixturesDir, 'newer-version.json')])).rejects.toThrow(
      /newer than this scaleup reads/,
    );
  });
});

describe('scaleup compare', () => {
  it('writes the comparison, prints its paths and what was not compared', async () => {
    const out = tempDir();
    const io = capture();
    expect(await compareCommand.run([runDir(), runDir(machineB), '--out', out])).toBe(0);
    expect(io.out.join('')).toBe(`${join(out, 'comparison.xlsx')}\n${join(out, 'comparison.pdf')}\n`);
    expect(io.err.join('')).toContain('note: 3a scaleup data resource (40 bytes): not compared');
  });

  it('needs two runs', async () => {
    await expect(compareCommand.run([runDir()])).rejects.toThrow(/at least two runs/);
    const { out } = capture();
    expect(await compareCommand.run(['-h'])).toBe(0);
    expect(out.join('')).toContain('usage: scaleup compare');
  });
});
