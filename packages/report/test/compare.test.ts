import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, summarizeAll } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { writeComparison } from '../src/compare.ts';
import {
  buildComparison,
  changeMessages,
  changeText,
  protocolMessages,
  unsharedMessages,
} from '../src/compare-model.ts';
import { renderComparisonPdf } from '../src/compare-pdf.ts';
import { buildResults, machineA, machineB } from './fixtures/build.ts';
import { fixturesDir, hasCommand, runDir, tempDir } from './fixtures/files.ts';
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

describe('protocols and changes', () => {
  it('lists every protocol difference and judges no change when the runs are not like for like', () => {
    const other = structuredClone(a);
    other.run.id = 'other';
    other.plan.connections = 48;
    other.plan.sweep.connections = [48];
    other.plan.tool = 'h2load';
    const comparison = buildComparison([
      { path: null, results: a },
      { path: null, results: other },
    ]);
    expect(protocolMessages(comparison)).toEqual(['load tool: wrk vs h2load', 'connections: 128 vs 48']);
    expect(comparison.shared.every((s) => s.change.every((c) => c === null))).toBe(true);
  });

  it('says "no change detected" within the noise and gives the change with its interval beyond it', () => {
    const faster = structuredClone(a);
    faster.run.id = 'faster';
    const fixed = faster.scenarios.find((s) => s.id === '1a')!;
    for (const rep of fixed.repetitions) rep.load.requestsPerSecond *= 1.3;
    summarizeAll(faster.scenarios);
    const comparison = buildComparison([
      { path: null, results: a },
      { path: null, results: faster },
    ]);
    expect(comparison.protocolDiff).toEqual([]);
    const byId = (id: string) => comparison.shared.find((s) => s.id === id)!;
    expect(changeText(byId('1b').change[1]!)).toBe('no change detected');
    const change = byId('1a').change[1]!;
    expect(change.significant).toBe(true);
    expect(change.ratio).toBeCloseTo(1.3, 6);
    expect(changeText(change)).toMatch(/^\+30\.0% \[\+\d+\.\d%, \+\d+\.\d%\]$/);
    expect(changeMessages(comparison)).toContain(
      `1a scaleup fixed resource, 10 kB: bench-a faster vs bench-a ${a.run.id}: ${changeText(change)}`,
    );
  });

  it("lines up a scenario with another run's id through compareAs", () => {
    const renamed = structuredClone(b);
    const twisted = renamed.scenarios.find((s) => s.id === '1a')!;
    twisted.id = 'tw-1a';
    twisted.scenarioId = 'tw-1a';
    twisted.compareAs = '1a';
    const comparison = buildComparison([
      { path: null, results: a },
      { path: null, results: renamed },
    ]);
    expect(comparison.shared.map((s) => s.id)).toContain('1a');
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
      'Protocol',
      'Not shared',
      'Environment diff',
      'Runs',
    ]);
    const ratios = workbook.getWorksheet('Ratios to nginx')!;
    expect(ratios.getCell(1, 4).value).toBe('bench-a: ratio to nginx');
    expect(ratios.getCell(1, 7).value).toBe('bench-a: confidence');
    expect(ratios.getCell(1, 8).value).toBe('bench-b: ratio to nginx');
    expect(ratios.getCell(1, 12).value).toBe('bench-b: vs bench-a');
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

describe('sweeps of several machines', () => {
  it('overlays the curves, each point normalised to its own nginx at the same point', async () => {
    const sweep = parseResults(readFileSync(join(fixturesDir, 'sweep-workers.json'), 'utf8'));
    const other = structuredClone(sweep);
    other.environment.hostname = 'lab-b';
    const comparison = buildComparison([
      { path: null, results: sweep },
      { path: null, results: other },
    ]);
    const workers = comparison.curves.find((c) => c.axis === 'workers')!;
    expect(workers.label).toMatch(/^2a scaleup fixed resource, 40 bytes, 16 connections, accept shared$/);
    expect(workers.points.map((p) => [p.run, p.x])).toEqual([
      ['vm', 1],
      ['vm', 2],
      ['lab-b', 1],
      ['lab-b', 2],
    ]);
    const w2 = sweep.scenarios.find((s) => s.id === '2a@w2')!.summary!.ratioToBaseline!;
    expect(workers.points[1]!.ratio).toBe(w2.ratio);
    if (!hasCommand('pdftotext')) return;
    const text = pdfText(await renderComparisonPdf(comparison));
    expect(text).toContain('Curves: ratio to nginx at the same point, per machine');
  });
});
