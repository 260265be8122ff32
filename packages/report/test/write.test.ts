import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { loadResults, writeReports } from '../src/write.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { fixturesDir, runDir, tempDir } from './fixtures/files.ts';

describe('writeReports', () => {
  it('writes results.xlsx, .pdf, .html and .md beside results.json, from a directory or the file', async () => {
    const dir = runDir();
    const fromDir = await writeReports(dir);
    expect(fromDir).toEqual({
      xlsx: join(dir, 'results.xlsx'),
      pdf: join(dir, 'results.pdf'),
      html: join(dir, 'results.html'),
      md: join(dir, 'results.md'),
    });
    const xlsx = readFileSync(fromDir.xlsx);
    const fromFile = await writeReports(join(dir, 'results.json'));
    expect(fromFile).toEqual(fromDir);
    expect(readFileSync(fromFile.xlsx).equals(xlsx)).toBe(true);
  });

  it('writes into another directory, and takes a results value from the runner', async () => {
    const out = join(tempDir(), 'nested', 'out');
    const paths = await writeReports(buildResults(machineA), out);
    expect(paths.pdf).toBe(join(out, 'results.pdf'));
    expect(existsSync(paths.xlsx)).toBe(true);
  });

  it('writes only the formats asked for, and refuses an unknown one before writing anything', async () => {
    const out = tempDir();
    expect(await writeReports(runDir(), out, ['md', 'html'])).toEqual({
      html: join(out, 'results.html'),
      md: join(out, 'results.md'),
    });
    expect(existsSync(join(out, 'results.xlsx'))).toBe(false);
    const other = tempDir();
    await expect(writeReports(runDir(), other, ['docx' as 'md'])).rejects.toThrow(
      /unknown report format docx: choose from html, md, xlsx, pdf/,
    );
    expect(existsSync(join(other, 'results.md'))).toBe(false);
  });

  it('refuses a newer schema version with one clear line', async () => {
    const error = await loadResults(join(fixturesDir, 'newer-version.json')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(
      /schema version 3 is newer than this scaleup reads \(2\); update scaleup$/,
    );
    expect((error as Error).message).not.toContain('\n');
  });

  it('refuses a file failing the schema, naming the fields, on one line', async () => {
    const error = await loadResults(join(fixturesDir, 'invalid-schema.json')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).toContain('does not match the results schema');
    expect(message).toContain('complete');
    expect(message).toContain('scenarios.0.payloadBytes');
    expect(message).not.toContain('\n');
  });

  it('refuses a missing path or a directory without results.json', async () => {
    await expect(loadResults('/nonexistent/run')).rejects.toThrow(UsageError);
    await expect(loadResults(tempDir())).rejects.toThrow(/cannot read .*results\.json: ENOENT/);
  });

  it('refuses an invalid results value before writing anything', async () => {
    const out = tempDir();
    const broken = { ...buildResults(machineA), complete: 'yes' } as unknown as ReturnType<
      typeof buildResults
    >;
    await expect(writeReports(broken, out)).rejects.toThrow(UsageError);
    expect(existsSync(join(out, 'results.xlsx'))).toBe(false);
  });
});
