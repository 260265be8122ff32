import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { runDir, tempDir } from './fixtures/files.ts';

const run = promisify(execFile);
const repoRoot = new URL('../../../', import.meta.url).pathname;
const script = new URL('./fixtures/write-reports.ts', import.meta.url).pathname;

async function writeIn(tz: string, resultsDir: string): Promise<{ xlsx: Buffer; pdf: Buffer; tz: string }> {
  const out = tempDir();
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, resultsDir, out], {
    cwd: repoRoot,
    env: { ...process.env, TZ: tz },
  });
  const reported = JSON.parse(stdout) as { xlsx: string; pdf: string; tz: string };
  expect(reported.xlsx).toBe(join(out, 'results.xlsx'));
  return { xlsx: readFileSync(reported.xlsx), pdf: readFileSync(reported.pdf), tz: reported.tz };
}

describe('reproducibility', () => {
  it('renders the same bytes twice in one process', async () => {
    const results = buildResults(machineA);
    expect(Buffer.from(await renderXlsx(results)).equals(Buffer.from(await renderXlsx(results)))).toBe(true);
    expect(Buffer.from(await renderPdf(results)).equals(Buffer.from(await renderPdf(results)))).toBe(true);
  });

  it('writes byte-identical files under TZ=UTC and TZ=Asia/Tokyo', async () => {
    const dir = runDir(machineA);
    const [utc, tokyo] = await Promise.all([writeIn('UTC', dir), writeIn('Asia/Tokyo', dir)]);
    expect(utc.tz).toBe('UTC');
    expect(tokyo.tz).toBe('Asia/Tokyo');
    expect(utc.xlsx.equals(tokyo.xlsx)).toBe(true);
    expect(utc.pdf.equals(tokyo.pdf)).toBe(true);
  });

  it('takes its dates from results.json: another finish time gives other bytes', async () => {
    const results = buildResults(machineA);
    const later = structuredClone(results);
    later.run.finishedAt = '2027-01-01T00:00:00.000Z';
    expect(Buffer.from(await renderPdf(results)).equals(Buffer.from(await renderPdf(later)))).toBe(false);
    expect(Buffer.from(await renderXlsx(results)).equals(Buffer.from(await renderXlsx(later)))).toBe(false);
  });
});
