import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { buildComparison, unsharedMessages, writeComparison } from '../src/compare.ts';
import { buildResults, machineA, machineB } from './fixtures/build.ts';
import { hasCommand, runDir, tempDir } from './fixtures/files.ts';
import { pdfText } from './fixtures/poppler.ts';

const a = buildResults(machineA);
const b = buildResults(machineB);

describe('buildComparison', () => {
  const comparison = buildComparison([
    { path: null, results: a },
    { path: null, results: b },
  ]);

  it('compares the scenarios both machines measured, payload by payload', () => {
    expect(comparison.runs.map((r) => r.label)).toEqual(['bench-a', 'bench-b']);
    expect(comparison.shared.map((s) => s.id)).toEqual(['2a', '2b', 'nginx-2', '1a', '1b', 'nginx-1']);
    const fixed = comparison.shared.find((s) => s.id === '1a')!;
    expect(fixed.perRun.map((s) => s.summary!.ratioToBaseline!.ratio)).toEqual([
      a.scenarios.find((s) => s.id === '1a')!.summary!.ratioToBaseline!.ratio,
      b.scenarios.find((s) => s.id === '1a')!.summary!.ratioToBaseline!.ratio,
    ]);
  });

  it('says what it leaves out and why', () => {
    expect(comparison.unshared.map((u) => [u.label, u.status])).toEqual([
      ['tw-2 twisted fixed resource', ['measured', 'missing']],
      ['3a scaleup data resource', ['missing', 'measured']],
      ['tw-1 twisted fixed resource', ['skipped', 'missing']],
    ]);
    expect(unsharedMessages(comparison)[0]).toBe(
      'tw-2 twisted fixed resource (40 bytes): not compared, measured in bench-a; missing in bench-b',
    );
  });

  it('diffs only the environment fields that differ', () => {
    const items = comparison.environmentDiff.map((d) => d.item);
    expect(items).toEqual(['Hostname', 'CPU model', 'Kernel', 'Distribution']);
    expect(comparison.environmentDiff[1]!.values).toEqual([machineA.cpuModel, machineB.cpuModel]);
  });

  it('names two runs of one host apart, and needs two runs', () => {
    const again = structuredClone(a);
    again.run.id = 'second';
    const labels = buildComparison([
      { path: null, results: a },
      { path: null, results: again },
    ]).runs.map((r) => r.label);
    expect(labels).toEqual([`bench-a ${a.run.id}`, 'bench-a second']);
    expect(() => buildComparison([{ path: null, results: a }])).toThrow(/at least two/);
  });
});

describe('writeComparison', () => {
  it('writes comparison.xlsx and comparison.pdf with medians, CIs, ratios and the gaps', async () => {
    const out = tempDir();
    const paths = await writeComparison([runDir(machineA), join(runDir(machineB), 'results.json')], out);
    expect(paths.xlsx).toBe(join(out, 'comparison.xlsx'));
    expect(paths.notes).toHaveLength(3);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(readFileSync(paths.xlsx) as unknown as ArrayBuffer);
    expect(workbook.worksheets.map((w) => w.name)).toEqual([
      'Ratios to nginx',
      'Medians',
      'Not shared',
      'Environment diff',
      'Runs',
    ]);
    const ratios = workbook.getWorksheet('Ratios to nginx')!;
    expect(ratios.getCell(1, 4).value).toBe('bench-a: ratio to nginx');
    expect(ratios.getCell(1, 7).value).toBe('bench-b: ratio to nginx');
    expect(ratios.getCell(2, 1).value).toBe('2a');
    expect(ratios.getCell(2, 4).value).toBe(
      a.scenarios.find((s) => s.id === '2a')!.summary!.ratioToBaseline!.ratio,
    );
    const medians = workbook.getWorksheet('Medians')!;
    expect(medians.getCell(4, 1).value).toBe('nginx-2');
    expect(medians.getCell(4, 7).value).toBe(
      b.scenarios.find((s) => s.id === 'nginx-2')!.summary!.requestsPerSecond!.median,
    );
    expect(workbook.getWorksheet('Not shared')!.getCell(2, 3).value).toBe('measured');

    if (!hasCommand('pdftotext')) return;
    const text = pdfText(new Uint8Array(readFileSync(paths.pdf)));
    expect(text).toContain('Ratio to nginx on the same machine: bench-a vs bench-b');
    expect(text).toContain('not compared, measured in bench-b; missing in bench-a');
    expect(text).toContain('Environment differences');
    expect(text).toContain('AMD EPYC 7763 64-Core Processor');
  });
});
