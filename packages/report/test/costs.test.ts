import type { ResultsFile } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { efficiencyView, hasCosts, serverCpuView } from '../src/display.ts';
import { fmt, intervalText } from '../src/format.ts';
import { renderHtml } from '../src/html.ts';
import { renderMarkdown } from '../src/markdown.ts';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { withCosts } from './fixtures/costs.ts';
import { hasCommand } from './fixtures/files.ts';
import { pdfText } from './fixtures/poppler.ts';

/**
 * Cost per response in every report: the server's CPU per response and the efficiency to nginx,
 * each with its interval, as a column of every summary table and a chart in the PDF and the page.
 * A run without costs shows none of it.
 */

const plain = buildResults(machineA);
const results = withCosts(plain);
// A scenario whose throughput is a lower bound: its efficiency must still carry no ≥.
results.scenarios.find((s) => s.id === '1a')!.summary!.lowerBound = true;
const byId = (id: string) => results.scenarios.find((s) => s.id === id)!;
const efficiency = (id: string) => byId(id).summary!.efficiencyToBaseline!;
const cpu = (id: string) => byId(id).summary!.serverCpuMicrosPerResponse!;
const poppler = hasCommand('pdftotext');

describe('the fixture with costs', () => {
  it('carries core-derived costs and efficiencies; the plain fixture none', () => {
    expect(hasCosts(plain)).toBe(false);
    expect(hasCosts(results)).toBe(true);
    expect(cpu('1a').median).toBeGreaterThan(0);
    // nginx's CPU per response over scaleup's, paired by round.
    expect(efficiency('1a').paired).toBe(true);
    expect(efficiency('1a').ratio).toBeCloseTo(cpu('nginx-1').median / cpu('1a').median, 1);
    expect(byId('nginx-1').summary!.efficiencyToBaseline).toBeNull();
  });

  it('the view: the baseline, no mark on a lower bound, the interval as every table prints it', () => {
    expect(efficiencyView(byId('nginx-1'))).toEqual({ kind: 'baseline' });
    const view = efficiencyView(byId('1a'));
    expect(view.kind).toBe('ratio');
    if (view.kind !== 'ratio') return;
    expect(view.figure).toBe(fmt(efficiency('1a').ratio, 3));
    expect(view.interval).toBe(intervalText(efficiency('1a'), 3));
    expect(serverCpuView(byId('1a'))!.figure).toBe(fmt(cpu('1a').median, 1));
    // Without costs recorded: nothing, not a baseline.
    expect(efficiencyView(plain.scenarios.find((s) => s.id === 'nginx-1')!)).toEqual({ kind: 'none' });
  });
});

describe('results.md', () => {
  it('a cost column and an efficiency column, each with its interval; none without costs', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('| Server CPU µs/response | Interval | Efficiency vs nginx | Interval |');
    const e = efficiency('1a');
    const row = md.split('\n').find((l) => l.startsWith('| 1a '))!;
    expect(row).toContain(`| ${fmt(e.ratio, 3)} | ${fmt(e.ciLow, 3)} – ${fmt(e.ciHigh, 3)} (`);
    expect(row).toContain(
      `| ${fmt(cpu('1a').median, 1)} | ${fmt(cpu('1a').ciLow, 1)} – ${fmt(cpu('1a').ciHigh, 1)} (`,
    );
    // The throughput ratio of 1a is a lower bound; its efficiency is not.
    expect(row).toContain(`| ≥ ${fmt(byId('1a').summary!.ratioToBaseline!.ratio, 3)} |`);
    expect(row).not.toContain(`≥ ${fmt(e.ratio, 3)}`);
    expect(md.split('\n').find((l) => l.startsWith('| nginx-1 '))).toContain('| baseline |');
    expect(md).toContain('Efficiency vs nginx: nginx');
    const before = renderMarkdown(plain);
    expect(before).not.toContain('Efficiency');
    expect(before).not.toContain('µs');
  });
});

describe('results.html', () => {
  let html: string;
  beforeAll(async () => {
    html = new TextDecoder().decode(await renderHtml(results));
  });

  it('summary columns with the intervals, and the cost charts with whiskers', () => {
    expect(html).toContain('>Server CPU µs/response</th>');
    expect(html).toContain('>Efficiency vs nginx</th>');
    const e = efficiency('1a');
    expect(html).toContain(
      `<span class="v">${fmt(e.ratio, 3)}</span> <span class="ci">${intervalText(e, 3)}</span>`,
    );
    expect(html).not.toContain(`≥ ${fmt(e.ratio, 3)}`);
    expect(html).toContain(`<span class="ci">${intervalText(cpu('1a'), 1)}</span>`);
    expect(html).toContain('<section id="costs"');
    for (const title of [
      'Server CPU per response (µs, 40 bytes payload)',
      'Server CPU per response (µs, 10 kB payload)',
      'Efficiency to nginx (40 bytes payload)',
      'Efficiency to nginx (10 kB payload)',
    ]) {
      expect(html).toContain(`aria-label="${title}"`);
    }
    // The whiskers: vega's errorbar marks, in the cost section's charts.
    const costs = html.slice(html.indexOf('<section id="costs"'), html.indexOf('<section id="summary"'));
    expect(costs).toMatch(/aria-roledescription="errorbar"|class="mark-rule role-errorbar/);
  });

  it('a run without costs has no cost section and no cost column', async () => {
    const before = new TextDecoder().decode(await renderHtml(plain));
    expect(before).not.toContain('id="costs"');
    expect(before).not.toContain('µs/response');
  });
});

describe.skipIf(!poppler)('results.pdf', () => {
  let text: string;
  beforeAll(async () => {
    text = pdfText(await renderPdf(results));
  });

  it('the headline table shows the efficiency with its interval, a page shows the cost charts', () => {
    const e = efficiency('1a');
    expect(text).toContain('Efficiency vs nginx');
    expect(text).toContain(fmt(e.ratio, 3));
    expect(text).toContain(`[${fmt(e.ciLow, 3)} – ${fmt(e.ciHigh, 3)}]`);
    expect(text).not.toContain(`≥ ${fmt(e.ratio, 3)}`);
    expect(text).toContain('Cost per response: server CPU and efficiency to nginx');
    expect(text).toContain('Server CPU per response (µs, 10 kB payload)');
    expect(text).toContain('Efficiency to nginx (40 bytes payload)');
  });

  it('a run without costs has no cost page', async () => {
    const before = pdfText(await renderPdf(plain));
    expect(before).not.toContain('Cost per response');
    expect(before).not.toContain('Efficiency vs nginx');
  });
});

describe('results.xlsx', () => {
  async function load(r: ResultsFile): Promise<ExcelJS.Workbook> {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await renderXlsx(r)) as unknown as ArrayBuffer);
    return workbook;
  }
  const headerOf = (sheet: ExcelJS.Worksheet) => sheet.getRow(1).values as unknown[];
  const rowOf = (sheet: ExcelJS.Worksheet, first: string) => {
    for (let r = 2; r <= sheet.rowCount; r++) if (sheet.getCell(r, 1).value === first) return r;
    throw new Error(`no row ${first}`);
  };

  it('the Data and Scenarios sheets carry the efficiency and the cost with their intervals', async () => {
    const workbook = await load(results);
    const data = workbook.getWorksheet('Data')!;
    const header = headerOf(data);
    const col = (title: string) => header.indexOf(title);
    const row = rowOf(data, 'scaleup fixed resource');
    const e = efficiency('1a');
    expect(data.getCell(row, col('Efficiency to nginx 10 kB')).value).toBe(e.ratio);
    expect(data.getCell(row, col('Efficiency to nginx 10 kB: CI low')).value).toBe(e.ciLow);
    expect(data.getCell(row, col('Efficiency to nginx 10 kB: CI high')).value).toBe(e.ciHigh);
    expect(data.getCell(row, col('Server CPU µs/response 10 kB')).value).toBe(cpu('1a').median);
    expect(data.getCell(row, col('Server CPU µs/response 10 kB: CI low')).value).toBe(cpu('1a').ciLow);
    const scenarios = workbook.getWorksheet('Scenarios')!;
    const sh = headerOf(scenarios);
    const r1a = rowOf(scenarios, '1a');
    expect(scenarios.getCell(r1a, sh.indexOf('Efficiency to nginx')).value).toBe(e.ratio);
    expect(scenarios.getCell(r1a, sh.indexOf('Efficiency CI high')).value).toBe(e.ciHigh);
    expect(scenarios.getCell(rowOf(scenarios, 'nginx-1'), sh.indexOf('Efficiency to nginx')).value).toBe(
      'baseline',
    );
    const reps = workbook.getWorksheet('Repetitions')!;
    const rh = headerOf(reps);
    const rep = byId('1a').repetitions[0]!;
    expect(reps.getCell(rowOf(reps, '1a'), rh.indexOf('Server syscalls/response')).value).toBe(
      rep.cost!.serverSyscallsPerResponse,
    );
  });

  it('a run without costs keeps its columns exactly', async () => {
    const [before, after] = await Promise.all([load(plain), load(results)]);
    for (const name of ['Data', 'Scenarios', 'Repetitions']) {
      const old = headerOf(before.getWorksheet(name)!).filter(Boolean);
      expect(old.some((h) => String(h).includes('µs') || String(h).includes('Efficiency'))).toBe(false);
      // The cost columns come last: every other column stays where it was.
      expect(headerOf(after.getWorksheet(name)!).slice(0, old.length + 1)).toEqual(
        headerOf(before.getWorksheet(name)!),
      );
    }
  });
});
