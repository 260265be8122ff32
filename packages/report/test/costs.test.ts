import type { ResultsFile } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { efficiencyView, hasCosts, serverCpuView, toolCpuView } from '../src/display.ts';
import { exact, fmt, intervalText } from '../src/format.ts';
import { renderHtml } from '../src/html.ts';
import { renderMarkdown } from '../src/markdown.ts';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { withCosts } from './fixtures/costs.ts';
import { hasCommand } from './fixtures/files.ts';
import { chartObjectsOf } from './fixtures/libreoffice.ts';
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
const rowOf = (sheet: ExcelJS.Worksheet, first: string) => {
  for (let r = 2; r <= sheet.rowCount; r++) if (sheet.getCell(r, 1).value === first) return r;
  throw new Error(`no row ${first}`);
};

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
      'CPU per response (µs, 40 bytes payload): server and load tool',
      'CPU per response (µs, 10 kB payload): server and load tool',
      'Efficiency to nginx (40 bytes payload)',
      'Efficiency to nginx (10 kB payload)',
    ]) {
      expect(html).toContain(`aria-label="${title}"`);
    }
    // The whiskers: vega's errorbar marks, in the cost section's charts.
    const costs = html.slice(html.indexOf('<section id="costs"'), html.indexOf('<section id="summary"'));
    expect(costs).toMatch(/aria-roledescription="errorbar"|class="mark-rule role-errorbar/);
    // The tool's cost beside the server's: its own bars, named in the legend and the tooltips.
    const tool = toolCpuView(byId('1a'))!.stat;
    expect(costs).toContain('wrk CPU (load tool)');
    expect(costs).toContain(
      `scaleup fixed resource (wrk CPU (load tool)); CPU µs per response: ${exact(tool.median, 2)}; interval ${exact(tool.ciLow, 2)} – ${exact(tool.ciHigh, 2)}`,
    );
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
    // Long chart titles wrap: pdftotext breaks the line where the chart does.
    expect(text.replace(/\s+/g, ' ')).toContain('CPU per response (µs, 10 kB payload): server and load tool');
    // The tool's bars beside the server's, named in the legend.
    expect(text).toContain('wrk CPU (load tool)');
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

describe('the load tool beside the server', () => {
  it("summarises the tool's CPU per response over valid repetitions, like the server's", () => {
    const s = byId('1b');
    const values = s.repetitions
      .filter((r) => r.verdict.valid)
      .map((r) => r.cost!.toolCpuMicrosPerResponse!)
      .sort((x, y) => x - y);
    // 1b has an invalid round: it must not enter the tool's figure either.
    expect(values).toHaveLength(s.repetitions.length - 1);
    const tool = toolCpuView(s)!.stat;
    expect(tool.n).toBe(values.length);
    expect(tool.median).toBe((values[1]! + values[2]!) / 2);
    expect(tool.ciLow).toBe(values[0]);
    expect(tool.ciHigh).toBe(values[3]);
    expect(toolCpuView(plain.scenarios.find((x) => x.id === '1b')!)).toBeNull();
  });
});

describe('results.xlsx native cost charts', () => {
  let files: Record<string, string>;
  let data: ExcelJS.Worksheet;
  beforeAll(async () => {
    const bytes = await renderXlsx(results);
    files = Object.fromEntries(Object.entries(unzipSync(bytes)).map(([k, v]) => [k, strFromU8(v)]));
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
    data = workbook.getWorksheet('Data')!;
  });
  const chartTitled = (title: string) => {
    const found = Object.entries(files).filter(
      ([name, xml]) => /^xl\/charts\/chart\d+\.xml$/.test(name) && xml.includes(`<a:t>${title}</a:t>`),
    );
    expect(found).toHaveLength(1);
    return found[0]![1];
  };
  /** Each series' references, in the order the chart part writes them. */
  const seriesOf = (xml: string) =>
    [...xml.matchAll(/<c:ser>(.*?)<\/c:ser>/g)].map((m) => {
      const ref = (tag: string) => new RegExp(`<c:${tag}>.*?<c:f>([^<]*)</c:f>`).exec(m[1]!)?.[1] ?? null;
      return { name: ref('tx'), plus: ref('plus'), minus: ref('minus'), cat: ref('cat'), val: ref('val') };
    });
  /** The Data column a reference like 'Data'!$X$2:$X$5 points at, by its header. */
  const headerAt = (ref: string | null) => {
    const m = /^'Data'!\$([A-Z]+)\$(\d+)(?::\$[A-Z]+\$(\d+))?$/.exec(ref ?? '');
    expect(m, `a Data reference: ${ref}`).not.toBeNull();
    return {
      header: data.getCell(`${m![1]!}1`).value,
      letter: m![1]!,
      first: Number(m![2]),
      last: Number(m![3] ?? m![2]),
    };
  };

  it('adds a chart sheet per payload for the CPU per response and for the efficiency', () => {
    const workbook = files['xl/workbook.xml']!;
    for (const name of [
      'CPU per response, 40 bytes',
      'CPU per response, 10 kB',
      'Efficiency, 40 bytes',
      'Efficiency, 10 kB',
    ]) {
      expect(workbook).toContain(`<sheet name="${name}"`);
    }
  });

  it("binds the server's and the tool's bars and whiskers to their Data columns", () => {
    const xml = chartTitled('CPU per response (µs, 10 kB payload): server and load tool');
    const [server, tool] = seriesOf(xml);
    expect(seriesOf(xml)).toHaveLength(2);
    expect(xml).toContain('<c:legend>');
    for (const [series, what] of [
      [server!, 'Server CPU µs/response 10 kB'],
      [tool!, 'Load tool CPU µs/response 10 kB'],
    ] as const) {
      expect(headerAt(series.name).header).toBe(what);
      expect(headerAt(series.val)).toMatchObject({ header: what, first: 2, last: 5 });
      expect(headerAt(series.minus)).toMatchObject({
        header: `${what}: chart whisker below`,
        first: 2,
        last: 5,
      });
      expect(headerAt(series.plus)).toMatchObject({
        header: `${what}: chart whisker above`,
        first: 2,
        last: 5,
      });
      expect(series.cat).toBe("'Data'!$A$2:$A$5");
    }
    // The cells hold what the reports show: the fixed resource's row at 10 kB is 1a.
    const row = rowOf(data, 'scaleup fixed resource');
    const col = (ref: string | null) => headerAt(ref).letter;
    const tool1a = toolCpuView(byId('1a'))!.stat;
    expect(data.getCell(`${col(server!.val)}${row}`).value).toBe(cpu('1a').median);
    expect(data.getCell(`${col(tool!.val)}${row}`).value).toBe(tool1a.median);
    expect(data.getCell(`${col(tool!.minus)}${row}`).value).toBeCloseTo(tool1a.median - tool1a.ciLow, 9);
    expect(data.getCell(`${col(server!.plus)}${row}`).value).toBeCloseTo(
      cpu('1a').ciHigh - cpu('1a').median,
      9,
    );
    // The cache a reader draws without recalculating carries the same figure.
    expect(xml).toContain(`<c:v>${tool1a.median}</c:v>`);
  });

  it('binds the efficiency and its interval, with no bar for nginx itself', () => {
    const xml = chartTitled('Efficiency to nginx (40 bytes payload)');
    const [series, ...more] = seriesOf(xml);
    expect(more).toHaveLength(0);
    expect(headerAt(series!.val)).toMatchObject({
      header: 'Efficiency to nginx 40 bytes',
      first: 2,
      last: 5,
    });
    expect(headerAt(series!.minus).header).toBe('Efficiency to nginx 40 bytes: chart whisker below');
    expect(headerAt(series!.plus).header).toBe('Efficiency to nginx 40 bytes: chart whisker above');
    const col = headerAt(series!.val).letter;
    expect(data.getCell(`${col}${rowOf(data, 'scaleup fixed resource')}`).value).toBe(efficiency('2a').ratio);
    expect(data.getCell(`${col}${rowOf(data, 'nginx')}`).value).toBeNull();
  });

  it('a run without costs has only the four headline charts', async () => {
    const before = Object.keys(unzipSync(await renderXlsx(plain))).filter((n) =>
      /^xl\/charts\/chart\d+\.xml$/.test(n),
    );
    expect(before).toHaveLength(4);
  });
});

describe.skipIf(!hasCommand('soffice'))('LibreOffice reads the cost charts', () => {
  it('binds both series of the CPU chart and the efficiency to the Data cells', async () => {
    const objects = chartObjectsOf(await renderXlsx(results));
    expect(objects).toHaveLength(8);
    const withTwo = objects.filter((xml) => (xml.match(/<chart:series /g) ?? []).length === 2);
    expect(withTwo).toHaveLength(2);
    for (const xml of objects)
      expect(xml).toContain('<chart:categories table:cell-range-address="Data.A2:Data.A5"/>');
    for (const xml of withTwo) expect(xml).toContain('chart:error-category="cell-range"');
  });
});

describe('under a CPU quota', () => {
  const capped = structuredClone(results);
  capped.topology.serverCpuQuotaCores = 0.6;
  const sentence =
    'Every server ran under a CPU quota of 0.6 CPU: absolute responses/s are per that share of a core, not what the machine can serve; the ratio to nginx and the efficiency are what compare across machines.';

  it('every report says the responses/s are per that share of a core; none says it without one', async () => {
    expect(renderMarkdown(capped)).toContain(sentence);
    expect(new TextDecoder().decode(await renderHtml(capped))).toContain(sentence);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await renderXlsx(capped)) as unknown as ArrayBuffer);
    const notes = (workbook.getWorksheet('Data')!.getColumn(1).values as unknown[]).map(String);
    expect(notes).toContain(sentence);
    expect(renderMarkdown(results)).not.toContain('CPU quota');
    expect(new TextDecoder().decode(await renderHtml(results))).not.toContain('CPU quota');
    if (!poppler) return;
    // pdftotext breaks lines where the page does: compare the words.
    const words = (text: string) => text.replace(/\s+/g, ' ');
    expect(words(pdfText(await renderPdf(capped)))).toContain(sentence);
    expect(pdfText(await renderPdf(results))).not.toContain('CPU quota');
  });

  it('names the groups a calibrated run capped, each at its own quota', () => {
    const calibrated = structuredClone(results);
    const group = (name: string, quota: number | null) => ({
      group: name,
      costs: [],
      toolBusyFraction: 0.95,
      serverQuotaCores: quota,
      toolCpus: null,
      headroomFraction: quota === null ? null : 0.25,
      decision: quota === null ? 'no cap needed' : `servers capped at ${quota} CPU`,
      rechecks: [],
      adjustments: [],
    });
    calibrated.topology.calibration = {
      method: 'server-quota',
      reason: 'two cores: the tool cannot get more of them',
      groups: [group('payload-40', 0.6), group('payload-10000', null)],
    };
    expect(renderMarkdown(calibrated)).toContain(
      'Servers ran under a CPU quota (payload-40: 0.6 CPU): absolute responses/s are per that share of a core',
    );
  });

  it('names the quotas a group was lowered to between rounds, from the round they held', () => {
    const calibrated = structuredClone(results);
    const adjustment = (afterRound: number, quotaCores: number) => ({
      afterRound,
      quotaCores,
      toolBusyFraction: 0.95,
      why: 'the tool was 95% busy',
    });
    calibrated.topology.calibration = {
      method: 'server-quota',
      reason: 'two cores',
      groups: [
        {
          group: 'payload-40',
          costs: [],
          toolBusyFraction: 0.95,
          serverQuotaCores: 0.8,
          toolCpus: null,
          headroomFraction: 0.2,
          decision: '',
          rechecks: [],
          adjustments: [adjustment(3, 0.7), adjustment(5, 0.62)],
        },
      ],
    };
    const markdown = renderMarkdown(calibrated);
    expect(markdown).toContain(
      'Servers ran under a CPU quota (payload-40: 0.8 CPU, 0.7 from round 4, 0.62 from round 6): absolute responses/s',
    );
    expect(markdown.match(/per that share of a core/g)).toHaveLength(1);
  });
});
