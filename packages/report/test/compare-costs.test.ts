import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeResults } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compareCommand } from '../../cli/src/commands/compare.ts';
import { barChartSvg } from '../src/charts.ts';
import { writeComparison } from '../src/compare.ts';
import { buildComparison, comparedEfficiency, costMessages, efficiencyText } from '../src/compare-model.ts';
import { fmt, intervalText } from '../src/format.ts';
import { buildResults, machineA, machineB } from './fixtures/build.ts';
import { withCosts } from './fixtures/costs.ts';
import { hasCommand, tempDir } from './fixtures/files.ts';
import { pdfText } from './fixtures/poppler.ts';

/**
 * The comparison with cost per response: each machine's efficiency to nginx beside its throughput
 * ratio, with its interval, in the workbook, the PDF and the terminal notes; a machine whose run
 * recorded no costs says n/a, never 0.
 */

// bench-a measured costs; bench-b is a run from before costs.
const a = withCosts(buildResults(machineA));
const b = buildResults(machineB);
const efficiencyOf = (id: string) => a.scenarios.find((s) => s.id === id)!.summary!.efficiencyToBaseline!;
const poppler = hasCommand('pdftotext');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the comparison model', () => {
  const comparison = buildComparison([
    { path: null, results: a },
    { path: null, results: b },
  ]);
  const row = (id: string) => comparison.rows.find((s) => s.id === id)!;

  it("gives each machine's efficiency with its interval, and n/a for a run without costs", () => {
    const e = comparedEfficiency(comparison, row('1a'), 0);
    expect(e.kind).toBe('ratio');
    if (e.kind !== 'ratio') return;
    expect(e.ratio).toEqual(efficiencyOf('1a'));
    expect(efficiencyText(e)).toBe(
      `${fmt(efficiencyOf('1a').ratio, 3)} ${intervalText(efficiencyOf('1a'), 3)}`,
    );
    expect(comparedEfficiency(comparison, row('1a'), 1)).toEqual({ kind: 'no-costs' });
    expect(efficiencyText(comparedEfficiency(comparison, row('1a'), 1))).toBe('n/a (no cost data)');
    expect(comparedEfficiency(comparison, row('nginx-1'), 0)).toEqual({ kind: 'baseline' });
    // A scenario only bench-b measured: bench-a has costs but no such scenario.
    expect(comparedEfficiency(comparison, row('3a'), 0)).toEqual({ kind: 'none' });
  });

  it('says what efficiency is and which run has no cost data', () => {
    const notes = costMessages(comparison);
    expect(notes[0]).toMatch(/^Efficiency: nginx's server CPU per successful response over this server's/);
    expect(notes).toContain(
      'bench-b recorded no cost per response (a run from before costs, or an import), so its efficiency is n/a.',
    );
  });

  it('says nothing of costs when no run has them', () => {
    const plain = buildComparison([
      { path: null, results: buildResults(machineA) },
      { path: null, results: b },
    ]);
    expect(costMessages(plain)).toEqual([]);
  });

  it('says, for a run under a CPU quota, that its responses/s are per that share of a core', () => {
    const capped = structuredClone(b);
    capped.topology.serverCpuQuotaCores = 0.6;
    const notes = costMessages(
      buildComparison([
        { path: null, results: a },
        { path: null, results: capped },
      ]),
    );
    expect(notes).toContain(
      'bench-b: Every server ran under a CPU quota of 0.6 CPU: absolute responses/s are per that share of a core, not what the machine can serve; the ratio to nginx and the efficiency are what compare across machines.',
    );
  });
});

describe('comparison.xlsx and comparison.pdf', () => {
  it('put the efficiency beside the ratio per machine, n/a where a run has no costs', async () => {
    const out = tempDir();
    const paths = await writeComparison([a, b], out);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(readFileSync(paths.xlsx) as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('Ratios to nginx')!;
    const header = sheet.getRow(1).values as unknown[];
    const col = (title: string) => header.indexOf(title);
    // Beside the ratio: right after each run's ratio, interval and confidence.
    expect(col('bench-a: efficiency to nginx')).toBe(col('bench-a: confidence') + 1);
    expect(col('bench-b: efficiency to nginx')).toBe(col('bench-b: confidence') + 1);
    const rowOf = (id: string) => {
      for (let r = 2; r <= sheet.rowCount; r++) if (sheet.getCell(r, 1).value === id) return r;
      throw new Error(`no row ${id}`);
    };
    const e = efficiencyOf('1a');
    const r1a = rowOf('1a');
    expect(sheet.getCell(r1a, col('bench-a: efficiency to nginx')).value).toBe(e.ratio);
    expect(sheet.getCell(r1a, col('bench-a: efficiency CI low')).value).toBe(e.ciLow);
    expect(sheet.getCell(r1a, col('bench-a: efficiency CI high')).value).toBe(e.ciHigh);
    for (const id of ['2a', '2b', '1a', '1b']) {
      for (const part of ['efficiency to nginx', 'efficiency CI low', 'efficiency CI high']) {
        expect(sheet.getCell(rowOf(id), col(`bench-b: ${part}`)).value).toBe('n/a');
      }
    }
    const cells = (sheet.getColumn(1).values as unknown[]).map(String);
    expect(cells.some((c) => c.startsWith('bench-b recorded no cost per response'))).toBe(true);

    if (!poppler) return;
    const text = pdfText(new Uint8Array(readFileSync(paths.pdf)));
    expect(text).toContain('Efficiency to nginx on the same machine, per machine');
    expect(text).toContain('Ratios and efficiency to nginx, per machine');
    expect(text).toContain(`efficiency ${fmt(e.ratio, 3)} [${fmt(e.ciLow, 3)} – ${fmt(e.ciHigh, 3)}]`);
    expect(text).toContain('efficiency n/a (no cost data)');
    expect(text).not.toMatch(/efficiency 0[.,]000/);
  });

  it('keep the layout of runs without costs: no efficiency column, no efficiency page', async () => {
    const paths = await writeComparison([buildResults(machineA), b], tempDir());
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(readFileSync(paths.xlsx) as unknown as ArrayBuffer);
    const header = (workbook.getWorksheet('Ratios to nginx')!.getRow(1).values as unknown[]).map(String);
    expect(header.some((h) => h.includes('efficiency'))).toBe(false);
    if (!poppler) return;
    expect(pdfText(new Uint8Array(readFileSync(paths.pdf)))).not.toContain('fficiency');
  });
});

describe('scaleup compare', () => {
  it('notes on stderr what the efficiency is and which run has no cost data', async () => {
    const dirA = tempDir();
    const dirB = tempDir();
    writeFileSync(join(dirA, 'results.json'), serializeResults(a));
    writeFileSync(join(dirB, 'results.json'), serializeResults(b));
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
    expect(await compareCommand.run([dirA, dirB, '--out', tempDir()])).toBe(0);
    expect(err.join('')).toContain("note: Efficiency: nginx's server CPU per successful response");
    expect(err.join('')).toContain('note: bench-b recorded no cost per response');
  });
});

describe('a grouped chart with a long caption', () => {
  it('wraps the caption instead of shrinking the plot', async () => {
    const categories = [
      'scaleup fixed resource, 40 bytes',
      'scaleup file resource, 40 bytes',
      'scaleup fixed resource, 10 kB',
    ];
    const data = categories.flatMap((category) =>
      ['bench-a', 'bench-b'].map((series) => ({ category, series, value: 0.5, ciLow: 0.4, ciHigh: 0.6 })),
    );
    const svg = await barChartSvg(data, {
      title:
        "nginx's server CPU per response over this server's (above 1: cheaper per response); whiskers: the interval of the median per-round ratio",
      yTitle: 'Efficiency vs nginx',
      format: '.2f',
      width: 770,
      height: 400,
      categories,
      series: ['bench-a', 'bench-b'],
      rule: 1,
    });
    // The x axis's domain line: as wide as the plot.
    const axis = /role-axis-domain[^>]*><line [^>]*x2="([\d.]+)" y2="0"/.exec(svg);
    expect(axis).not.toBeNull();
    expect(Number(axis![1])).toBeGreaterThan(0.7 * 770);
  });
});
