import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../src/html.ts';
import { renderMarkdown } from '../src/markdown.ts';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { runDir, tempDir } from './fixtures/files.ts';

const run = promisify(execFile);
const repoRoot = new URL('../../../', import.meta.url).pathname;
const script = new URL('./fixtures/write-reports.ts', import.meta.url).pathname;
const FORMATS = ['xlsx', 'pdf', 'html', 'md'] as const;
type Written = Record<(typeof FORMATS)[number], Buffer> & { tz: string };

async function writeIn(tz: string, resultsDir: string): Promise<Written> {
  const out = tempDir();
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, resultsDir, out], {
    cwd: repoRoot,
    env: { ...process.env, TZ: tz },
  });
  const reported = JSON.parse(stdout) as Record<(typeof FORMATS)[number], string> & { tz: string };
  expect(reported.xlsx).toBe(join(out, 'results.xlsx'));
  expect(reported.html).toBe(join(out, 'results.html'));
  expect(reported.md).toBe(join(out, 'results.md'));
  const files = Object.fromEntries(FORMATS.map((f) => [f, readFileSync(reported[f])]));
  return { ...files, tz: reported.tz } as Written;
}

const renderers = {
  xlsx: renderXlsx,
  pdf: renderPdf,
  html: renderHtml,
  md: async (r: Parameters<typeof renderMarkdown>[0]) => new TextEncoder().encode(renderMarkdown(r)),
};

describe('reproducibility', () => {
  it('renders the same bytes twice in one process', async () => {
    const results = buildResults(machineA);
    for (const render of Object.values(renderers)) {
      expect(Buffer.from(await render(results)).equals(Buffer.from(await render(results)))).toBe(true);
    }
  });

  it('writes byte-identical files under TZ=UTC and TZ=Asia/Tokyo', async () => {
    const dir = runDir(machineA);
    const [utc, tokyo] = await Promise.all([writeIn('UTC', dir), writeIn('Asia/Tokyo', dir)]);
    expect(utc.tz).toBe('UTC');
    expect(tokyo.tz).toBe('Asia/Tokyo');
    for (const format of FORMATS) expect(utc[format].equals(tokyo[format]), format).toBe(true);
  });

  it('takes its dates from results.json: another finish time gives other bytes', async () => {
    const results = buildResults(machineA);
    const later = structuredClone(results);
    later.run.finishedAt = '2027-01-01T00:00:00.000Z';
    for (const [format, render] of Object.entries(renderers)) {
      expect(Buffer.from(await render(results)).equals(Buffer.from(await render(later))), format).toBe(false);
    }
  });
});
