import { beforeAll, describe, expect, it } from 'vitest';
import { renderPdf } from '../src/pdf.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { hasCommand } from './fixtures/files.ts';
import { pdfInfo, pdfText } from './fixtures/poppler.ts';

const poppler = hasCommand('pdftotext') && hasCommand('pdfinfo');
if (!poppler)
  console.warn('skipping PDF text checks: pdftotext/pdfinfo missing (apt-get install poppler-utils)');

const results = buildResults(machineA);
let pdf: Uint8Array;
beforeAll(async () => {
  pdf = await renderPdf(results);
});

describe('results.pdf', () => {
  it('is a PDF', () => {
    expect(Buffer.from(pdf.subarray(0, 5)).toString()).toBe('%PDF-');
  });

  it.skipIf(!poppler)('is dated by the run, not the clock', () => {
    const info = pdfInfo(pdf);
    expect(info.CreationDate).toBe('2026-11-26T10:06:12Z');
    expect(info.ModDate).toBe(info.CreationDate);
  });

  it.skipIf(!poppler)(
    'page 1: landscape, the machine in the title, the four charts with their numbers',
    () => {
      const info = pdfInfo(pdf, 1);
      const [width, height] = info['Page    1 size']!.match(/[\d.]+/g)!.map(Number);
      expect(width).toBeGreaterThan(height!);
      expect(info['Page    1 rot']).toBe('0');
      const text = pdfText(pdf, 1);
      expect(text).toContain('Scaling a multi-process Node server against nginx on bench-a');
      expect(text).toContain('Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz');
      for (const title of [
        'Served HTTP Responses/s (40 bytes payload)',
        'Served HTTP Responses/s (10 kB payload)',
        'Served HTTP MB/s (40 bytes payload)',
        'Served HTTP MB/s (10 kB payload)',
      ]) {
        expect(text).toContain(title);
      }
      expect(text).toContain('nginx');
      expect(text).toContain('scaleup file resource');
      const nginx40 = results.scenarios.find((s) => s.id === 'nginx-2')!.summary!.requestsPerSecond!.median;
      expect(text).toContain(Math.round(nginx40).toLocaleString('en-US'));
    },
  );

  it.skipIf(!poppler)(
    'later pages: medians with CIs and ratios, workers and CPU, warnings, environment, method',
    () => {
      const info = pdfInfo(pdf);
      expect(Number(info.Pages)).toBeGreaterThanOrEqual(4);
      const text = pdfText(pdf);
      expect(text).toContain('Medians, intervals and ratios to nginx');
      const r = results.scenarios.find((s) => s.id === '1a')!.summary!.ratioToBaseline!;
      expect(text).toContain(r.ratio.toFixed(3));
      expect(text).toContain(`[${r.ciLow.toFixed(3)} – ${r.ciHigh.toFixed(3)}]`);
      expect(text).toContain('Work per worker and CPU per process');
      expect(text).toContain('nginx-worker');
      expect(text).toContain('Round 2 invalid: 1523 responses failed (5xx)');
      expect(text).toContain('Round 1 client-bound');
      expect(text).toContain('pypy3 not found on PATH');
      expect(text).toContain('open files (soft)');
      expect(text).toContain('6.1.0-28-amd64');
      expect(text).toContain('Methodology');
      expect(text).toMatch(/distribution-free confidence interval of the median/);
      expect(text).toMatch(/93\.7%\*/);
      expect(text).toContain('Latency (ms)');
    },
  );
});
