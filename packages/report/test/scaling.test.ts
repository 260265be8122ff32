import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx, SCALING_SHEET } from '../src/xlsx.ts';
import { fixturesDir, hasCommand } from './fixtures/files.ts';
import { chartObjectsOf } from './fixtures/libreoffice.ts';
import { pdfText } from './fixtures/poppler.ts';

// Real runs on the development VM: `pnpm bench --profile smoke --only 2a,nginx-2` with
// `--workers 1,2 --no-pin`, and with `--connections 16,64`.
const workers = parseResults(readFileSync(join(fixturesDir, 'sweep-workers.json'), 'utf8'));
const connections = parseResults(readFileSync(join(fixturesDir, 'sweep-connections.json'), 'utf8'));

async function sheets(bytes: Uint8Array) {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  return workbook;
}

describe('reports of a sweep', () => {
  it('the Scaling sheet: one row per scenario and point, with speedup and efficiency', async () => {
    const workbook = await sheets(await renderXlsx(workers));
    const sheet = workbook.getWorksheet(SCALING_SHEET)!;
    const header = sheet.getRow(1).values as unknown[];
    const col = (title: string) => (header as string[]).indexOf(title);
    const rows = workers.scenarios.map((_, i) => i + 2);
    expect(
      rows.map((r) => `${sheet.getCell(r, 1).value}@w${sheet.getCell(r, col('Workers')).value}`),
    ).toEqual(['2a@w1', '2a@w2', 'nginx-2@w1', 'nginx-2@w2']);
    const curve = workers.scaling.find((c) => c.scenarioId === '2a')!;
    expect(sheet.getCell(3, col('Speedup')).value).toBe(curve.points[1]!.speedup!.value);
    expect(sheet.getCell(3, col('Efficiency')).value).toBe(curve.points[1]!.efficiency!.value);
    expect(sheet.getCell(3, col('Fairness (connections)')).value).toBe(
      workers.scenarios[1]!.summary!.fairnessConnections,
    );
  });

  it('native line charts bound to the Scaling sheet: workers with the ideal line; connections and p99', async () => {
    const files = (bytes: Uint8Array) =>
      Object.fromEntries(Object.entries(unzipSync(bytes)).map(([k, v]) => [k, strFromU8(v)]));
    const lineCharts = (entries: Record<string, string>) =>
      Object.entries(entries).filter(
        ([k, v]) => /^xl\/charts\/chart\d+\.xml$/.test(k) && v.includes('<c:lineChart>'),
      );
    const lines = lineCharts(files(await renderXlsx(workers)));
    expect(lines).toHaveLength(1);
    const xml = lines[0]![1];
    expect(xml).toContain('Served responses/s against workers');
    expect(xml.match(/<c:ser>/g)).toHaveLength(4); // two curves, each with its ideal line
    expect(xml).toContain('<a:prstDash val="dash"/>');
    expect(xml).toContain(`'${SCALING_SHEET}'!$A$`);
    const titles = lineCharts(files(await renderXlsx(connections))).map(
      ([, v]) => /<a:t>([^<]+)<\/a:t>/.exec(v)![1],
    );
    expect(titles).toEqual([
      'Responses/s against concurrent connections',
      'p99 latency (ms) against concurrent connections',
    ]);
  });

  it('a run without a sweep has no Scaling sheet and looks as before', async () => {
    const single = structuredClone(workers);
    single.scenarios = single.scenarios.filter((s) => s.point.workers === 1);
    single.plan.sweep.workers = [1];
    single.scaling = [];
    const workbook = await sheets(await renderXlsx(single));
    expect(workbook.getWorksheet(SCALING_SHEET)).toBeUndefined();
  });

  it.skipIf(!hasCommand('soffice'))(
    'LibreOffice renders the scaling charts as line charts',
    async () => {
      const objects = chartObjectsOf(await renderXlsx(connections));
      const classes = objects.map((xml) => /chart:class="chart:([a-z]+)"/.exec(xml)![1]);
      expect(classes.sort()).toEqual(['bar', 'bar', 'line', 'line']);
      const line = objects.find((x) => x.includes('chart:class="chart:line"'))!;
      expect(line).toMatch(/chart:values-cell-range-address="Scaling\.B\d+:Scaling\.B\d+"/);
    },
    150_000,
  );

  it.skipIf(!hasCommand('pdftotext'))(
    'results.pdf: a scaling page after the seed page, and every point',
    async () => {
      const text = pdfText(await renderPdf(workers));
      expect(text).toContain('Scaling: the curve, not the point');
      expect(text).toContain('Served responses/s against workers');
      expect(text).toContain('Parallel efficiency');
      expect(text).toContain("Workers' share of connections");
      expect(text).toContain('Every point: medians, speedup, efficiency, fairness');
      expect(text).toMatch(/throughput stops rising beyond the noise after \d worker/);
      const c = pdfText(await renderPdf(connections));
      expect(c).toContain('p99 latency against concurrent connections');
      expect(c).toContain('Served responses/s against concurrent connections');
    },
  );
});
