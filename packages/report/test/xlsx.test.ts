import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { confidenceText } from '../src/format.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';

const results = buildResults(machineA);
const byId = (id: string) => results.scenarios.find((s) => s.id === id)!;
let bytes: Uint8Array;
let files: Record<string, string>;

beforeAll(async () => {
  bytes = await renderXlsx(results);
  files = Object.fromEntries(Object.entries(unzipSync(bytes)).map(([k, v]) => [k, strFromU8(v)]));
});

describe('results.xlsx data', () => {
  it('reads back with exceljs: sheets, the seed table and its numbers', async () => {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
    const names = workbook.worksheets.map((w) => w.name);
    expect(names).toEqual([
      'Data',
      'Scenarios',
      'Latency',
      'Repetitions',
      'Workers',
      'Process CPU',
      'Environment',
      'Tuning',
      'Warnings',
    ]);
    const data = workbook.getWorksheet('Data')!;
    const header = data.getRow(1).values as unknown[];
    expect(header.slice(1, 6)).toEqual([
      'Server',
      'Served HTTP Responses/s (40 bytes payload)',
      'Served HTTP Responses/s (10 kB payload)',
      'Served HTTP MB/s (40 bytes payload)',
      'Served HTTP MB/s (10 kB payload)',
    ]);
    expect([2, 3, 4, 5].map((r) => data.getCell(r, 1).value)).toEqual([
      'scaleup file resource',
      'scaleup fixed resource',
      'twisted fixed resource',
      'nginx',
    ]);
    expect(data.getCell(2, 2).value).toBe(byId('2b').summary!.requestsPerSecond!.median);
    expect(data.getCell(5, 3).value).toBe(byId('nginx-1').summary!.requestsPerSecond!.median);
    expect(data.getCell(3, 5).value).toBe(byId('1a').summary!.megabytesPerSecond!.median);
    // The skipped command at 10 kB leaves its cell empty rather than a zero bar.
    expect(data.getCell(4, 3).value).toBeNull();
    const col = (title: string) => (header as string[]).indexOf(title);
    expect(data.getCell(2, col('Responses/s 40 bytes: CI low')).value).toBe(
      byId('2b').summary!.requestsPerSecond!.ciLow,
    );
    expect(data.getCell(3, col('Ratio to nginx 10 kB')).value).toBe(
      byId('1a').summary!.ratioToBaseline!.ratio,
    );
    expect(data.getCell(3, col('Ratio to nginx 10 kB: CI high')).value).toBe(
      byId('1a').summary!.ratioToBaseline!.ciHigh,
    );
    expect(data.getCell(4, col('Valid repetitions 10 kB')).value).toBe('skipped');
    // Each interval with the confidence it reaches: five rounds give min..max at 93.7%, short of 95%.
    expect(data.getCell(3, col('Ratio to nginx 10 kB: CI confidence')).value).toBe(
      confidenceText(byId('1a').summary!.ratioToBaseline!),
    );
    expect(String(data.getCell(2, col('Responses/s 40 bytes: CI confidence')).value)).toMatch(
      /^\d+(\.\d)?%\*?$/,
    );
  });

  it('lists every repetition with its verdict, and workers, CPU, environment and tuning', async () => {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
    const reps = workbook.getWorksheet('Repetitions')!;
    const total = results.scenarios.reduce((n, s) => n + s.repetitions.length, 0);
    expect(reps.rowCount).toBe(total + 1);
    const rows = reps.getSheetValues().slice(2) as unknown[][];
    const invalid = rows.filter((r) => r[6] === false);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]![1]).toBe('1b');
    expect(invalid[0]![7]).toBe('1523 responses failed (5xx)');
    expect(rows.filter((r) => r[8] === true).map((r) => r[1])).toEqual(['2a']);
    expect(workbook.getWorksheet('Workers')!.rowCount).toBe(1 + 4 * 5 * 2);
    expect(workbook.getWorksheet('Process CPU')!.getCell(2, 6).value).toBe('master');
    const env = workbook.getWorksheet('Environment')!.getSheetValues() as unknown[][];
    expect(env.some((r) => r?.[2] === 'CPU model' && r[3] === machineA.cpuModel)).toBe(true);
    const tuning = workbook.getWorksheet('Tuning')!;
    expect(tuning.getCell(3, 1).value).toBe('open files (soft)');
    expect(tuning.getCell(3, 4).value).toBe(false);
  });
});

describe('results.xlsx charts', () => {
  it('has four chart sheets, each a bar chart bound to the Data cells', () => {
    const charts = Object.keys(files)
      .filter((f) => /^xl\/charts\/chart\d+\.xml$/.test(f))
      .sort();
    expect(charts).toHaveLength(4);
    const refs = charts.map((f) => {
      const xml = files[f]!;
      expect(xml).toContain('<c:barChart>');
      expect(xml).toContain('<c:barDir val="col"/>');
      return [...xml.matchAll(/<c:f>([^<]+)<\/c:f>/g)].map((m) => m[1]!.replace(/&apos;|'/g, "'"));
    });
    const columns = ['B', 'C', 'D', 'E'];
    refs.forEach((r, i) => {
      const c = columns[i]!;
      expect(r).toContain(`'Data'!$${c}$1`);
      expect(r).toContain(`'Data'!$A$2:$A$5`);
      expect(r).toContain(`'Data'!$${c}$2:$${c}$5`);
    });
    const workbook = files['xl/workbook.xml']!;
    const sheetNames = [...workbook.matchAll(/<sheet [^>]*name="([^"]+)"/g)].map((m) => m[1]);
    expect(sheetNames.slice(0, 5)).toEqual([
      'Responses per s, 40 bytes',
      'Responses per s, 10 kB',
      'MB per s, 40 bytes',
      'MB per s, 10 kB',
      'Data',
    ]);
    const types = files['[Content_Types].xml']!;
    expect(types.match(/drawingml\.chart\+xml/g)).toHaveLength(4);
    expect(types.match(/spreadsheetml\.chartsheet\+xml/g)).toHaveLength(4);
    expect(files['xl/_rels/workbook.xml.rels']!.match(/relationships\/chartsheet"/g)).toHaveLength(4);
    for (let n = 1; n <= 4; n++) {
      expect(files[`xl/chartsheets/_rels/sheet${n}.xml.rels`]).toContain(`../drawings/drawing${n}.xml`);
      expect(files[`xl/drawings/_rels/drawing${n}.xml.rels`]).toContain(`../charts/chart${n}.xml`);
    }
  });

  it('caches the plotted medians and binds CI whiskers to cells', () => {
    const xml = files['xl/charts/chart1.xml']!;
    const median = byId('nginx-2').summary!.requestsPerSecond!.median;
    expect(xml).toContain(`<c:v>${median}</c:v>`);
    expect(xml).toContain('<c:errValType val="cust"/>');
    expect(xml).toMatch(/<c:plus><c:numRef><c:f>'Data'!\$[A-Z]+\$2:\$[A-Z]+\$5<\/c:f>/);
  });
});
