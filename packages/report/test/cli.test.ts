import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, type ResultsFile, UsageError } from '@scaleup/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
// The CLI's subcommands are thin layers over this package; they are tested here, beside it.
import { scalingLines, summaryTable } from '../../cli/src/commands/bench-output.ts';
import { compareCommand } from '../../cli/src/commands/compare.ts';
import { reportCommand } from '../../cli/src/commands/report.ts';
import { buildResults, machineA, machineB } from './fixtures/build.ts';
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

// Raw control characters a terminal would obey: CR, ESC, other C0/C1, line separators, bidi.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const OBEYED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const FORGED_LABEL = 'evil\r\x1b[2Kverdict: no change detected\nnote: all good\u202e';
const FORGED_HOST = 'bench\x1b]0;retitled\x07-a';

/** machineA with a host name and a label crafted to retitle a terminal and forge lines. */
function forged(): ResultsFile {
  const results = buildResults(machineA);
  results.environment.hostname = FORGED_HOST;
  const s = results.scenarios.find((x) => x.id === 'tw-2')!;
  s.label = FORGED_LABEL;
  s.server = { kind: 'imported', name: FORGED_LABEL, workers: null };
  return results;
}

describe('text from a results file reaches the terminal cleaned', () => {
  it('compare: labels and host names are shown escaped, never obeyed', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'results.json'), JSON.stringify(forged()));
    const out = tempDir();
    const io = capture();
    expect(await compareCommand.run([dir, runDir(machineB), '--out', out])).toBe(0);
    const err = io.err.join('');
    for (const line of err.split('\n')) expect(OBEYED.test(line), JSON.stringify(line)).toBe(false);
    expect(err).toContain('note: tw-2 evil \\x1b[2Kverdict: no change detected note: all good\\u202e');
    expect(err).toContain('measured in bench\\x1b]0;retitled\\x07-a');
  });

  it('the bench summary: the same cleaning, the same words as the reports', () => {
    const results = forged();
    const table = summaryTable(results);
    for (const line of table.split('\n')) expect(OBEYED.test(line), JSON.stringify(line)).toBe(false);
    expect(table).toContain('evil \\x1b[2Kverdict: no change detected note: all good\\u202e');
    const sweep = parseResults(readFileSync(join(fixturesDir, 'sweep-workers.json'), 'utf8'));
    for (const line of scalingLines(sweep)) expect(OBEYED.test(line)).toBe(false);
    // One wording for the interval and the lower bound, the reports' own.
    const bounded = structuredClone(results);
    bounded.scenarios.find((x) => x.id === '2a')!.summary!.lowerBound = true;
    const text = summaryTable(bounded);
    expect(text).toContain(
      '>= the load tool was saturated in most repetitions, so the figure is a lower bound',
    );
    expect(text).toMatch(/\[[\d,]+ – [\d,]+\] \d+(\.\d)?%\*?/);
  });
});
