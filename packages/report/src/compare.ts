import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ResultsFile, type ScenarioResult, UsageError } from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import { type BarDatum, barChartSvg } from './charts.ts';
import type { Exporter } from './exporter.ts';
import { textWidth } from './font.ts';
import { environmentPairs, machineLabel, payloadLabel, reportDate, runPairs } from './model.ts';
import {
  bullets,
  contentWidth,
  createDoc,
  drawSvg,
  FONT,
  finishDoc,
  fmt,
  fmtCi,
  heading,
  MARGIN,
  paragraph,
  table,
} from './pdf-doc.ts';
import { loadResults } from './write.ts';
import { addTable, FORMATS, finishWorkbook, newWorkbook } from './xlsx.ts';

/**
 * Several runs (machines) side by side. Absolute figures belong to their machine; the ratio to
 * nginx measured on the same machine is what can be compared across machines.
 */

export interface ComparedRun {
  /** Short unique name: the hostname, or hostname and run id when a host appears twice. */
  label: string;
  path: string | null;
  results: ResultsFile;
}

export interface ComparedScenario {
  key: string;
  id: string;
  label: string;
  payloadBytes: number;
  baseline: boolean;
  /** The scenario in each run, in run order. */
  perRun: ScenarioResult[];
}

export interface UnsharedScenario {
  key: string;
  label: string;
  payloadBytes: number;
  /** Per run: 'measured', 'skipped' or 'missing'. */
  status: ('measured' | 'skipped' | 'missing')[];
}

export interface Comparison {
  runs: ComparedRun[];
  shared: ComparedScenario[];
  unshared: UnsharedScenario[];
  /** Environment and plan fields whose values differ between runs, one value per run. */
  environmentDiff: { item: string; values: string[] }[];
  date: Date;
}

function scenarioKey(s: ScenarioResult): string {
  const server = s.server;
  const what =
    server.kind === 'scaleup'
      ? `scaleup:${server.resource}`
      : server.kind === 'command'
        ? `command:${server.command.join(' ')}`
        : 'nginx';
  return `${s.id}|${s.payloadBytes}|${what}`;
}

function uniqueLabels(runs: ResultsFile[]): string[] {
  const labels = runs.map((r) => r.environment.hostname);
  const counts = (list: string[]) =>
    list.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  let c = counts(labels);
  const withIds = labels.map((l, i) => (c.get(l)! > 1 ? `${l} ${runs[i]!.run.id}` : l));
  c = counts(withIds);
  const seen = new Map<string, number>();
  return withIds.map((l) => {
    if (c.get(l)! === 1) return l;
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    return `${l} #${n}`;
  });
}

export function buildComparison(inputs: { path: string | null; results: ResultsFile }[]): Comparison {
  if (inputs.length < 2)
    throw new UsageError('compare needs at least two results (run directories or results.json files)');
  const labels = uniqueLabels(inputs.map((i) => i.results));
  const runs = inputs.map((input, i) => ({ ...input, label: labels[i]! }));

  const order: string[] = [];
  const byKey = new Map<string, (ScenarioResult | undefined)[]>();
  runs.forEach((run, r) => {
    for (const s of run.results.scenarios) {
      const key = scenarioKey(s);
      if (!byKey.has(key)) {
        byKey.set(key, new Array(runs.length).fill(undefined));
        order.push(key);
      }
      byKey.get(key)![r] = s;
    }
  });
  // Payload first, as the seed groups its figures; then the order the runs listed them.
  const first = (key: string) => byKey.get(key)!.find((s) => s !== undefined)!;
  order.sort((a, b) => first(a).payloadBytes - first(b).payloadBytes || order.indexOf(a) - order.indexOf(b));

  const shared: ComparedScenario[] = [];
  const unshared: UnsharedScenario[] = [];
  for (const key of order) {
    const perRun = byKey.get(key)!;
    const s = first(key);
    const status = perRun.map((x) =>
      x === undefined ? 'missing' : x.summary === null || x.skipped !== null ? 'skipped' : 'measured',
    );
    if (status.every((st) => st === 'measured')) {
      shared.push({
        key,
        id: s.id,
        label: s.label,
        payloadBytes: s.payloadBytes,
        baseline: s.baseline,
        perRun: perRun as ScenarioResult[],
      });
    } else {
      unshared.push({ key, label: `${s.id} ${s.label}`, payloadBytes: s.payloadBytes, status });
    }
  }

  const pairSets = runs.map((run) => {
    const plan = runPairs(run.results).filter(
      ([k]) => !['Run id', 'Started', 'Finished', 'Command'].includes(k),
    );
    return new Map([...plan, ...environmentPairs(run.results)]);
  });
  const items: string[] = [];
  for (const pairs of pairSets) for (const k of pairs.keys()) if (!items.includes(k)) items.push(k);
  const environmentDiff = items
    .map((item) => ({ item, values: pairSets.map((p) => p.get(item) ?? '(absent)') }))
    .filter((row) => new Set(row.values).size > 1);

  const date = new Date(Math.max(...runs.map((r) => reportDate(r.results).getTime())));
  return { runs, shared, unshared, environmentDiff, date };
}

/** One line per scenario that not every run measured, for the terminal and the files. */
export function unsharedMessages(comparison: Comparison): string[] {
  return comparison.unshared.map((u) => {
    const parts = (['measured', 'skipped', 'missing'] as const)
      .map((st) => {
        const runs = comparison.runs.filter((_, i) => u.status[i] === st).map((r) => r.label);
        return runs.length ? `${st} in ${runs.join(', ')}` : null;
      })
      .filter(Boolean);
    return `${u.label} (${payloadLabel(u.payloadBytes)}): not compared, ${parts.join('; ')}`;
  });
}

type Cell = string | number | boolean | null;

export async function renderComparisonXlsx(comparison: Comparison): Promise<Uint8Array> {
  const { runs, shared } = comparison;
  const workbook = newWorkbook(
    comparison.date,
    `scaleup comparison of ${runs.map((r) => r.label).join(', ')}`,
  );

  const scenarioCells = (s: ComparedScenario): Cell[] => [s.id, s.label, s.payloadBytes];
  const ratioHeader = ['Scenario', 'Label', 'Payload (bytes)'];
  const ratioFormats: Record<number, string> = {};
  for (const run of runs) {
    for (const part of ['ratio', '95% CI low', '95% CI high']) {
      ratioFormats[ratioHeader.length] = FORMATS.ratio;
      ratioHeader.push(`${run.label}: ${part === 'ratio' ? 'ratio to nginx' : part}`);
    }
  }
  ratioFormats[ratioHeader.length] = FORMATS.ratio;
  ratioHeader.push('Highest / lowest ratio');
  addTable(
    workbook,
    'Ratios to nginx',
    ratioHeader,
    shared
      .filter((s) => !s.baseline)
      .map((s) => {
        const ratios = s.perRun.map((x) => x.summary?.ratioToBaseline ?? null);
        const values = ratios.flatMap((r) => (r ? [r.ratio] : []));
        const spread =
          values.length === runs.length && Math.min(...values) > 0
            ? Math.max(...values) / Math.min(...values)
            : null;
        return [
          ...scenarioCells(s),
          ...ratios.flatMap((r) => [r?.ratio ?? null, r?.ciLow ?? null, r?.ciHigh ?? null]),
          spread,
        ];
      }),
    ratioFormats,
  );

  const medianHeader = ['Scenario', 'Label', 'Payload (bytes)'];
  const medianFormats: Record<number, string> = {};
  for (const metric of ['requestsPerSecond', 'megabytesPerSecond'] as const) {
    const name = metric === 'requestsPerSecond' ? 'Responses/s' : 'MB/s';
    for (const run of runs) {
      for (const part of ['median', '95% CI low', '95% CI high']) {
        medianFormats[medianHeader.length] = FORMATS[metric];
        medianHeader.push(`${run.label}: ${name} ${part}`);
      }
    }
  }
  addTable(
    workbook,
    'Medians',
    medianHeader,
    shared.map((s) => [
      ...scenarioCells(s),
      ...(['requestsPerSecond', 'megabytesPerSecond'] as const).flatMap((metric) =>
        s.perRun.flatMap((x) => {
          const st = x.summary?.[metric] ?? null;
          return [st?.median ?? null, st?.ciLow ?? null, st?.ciHigh ?? null];
        }),
      ),
    ]),
    medianFormats,
  );

  addTable(
    workbook,
    'Not shared',
    ['Scenario', 'Payload (bytes)', ...runs.map((r) => r.label)],
    comparison.unshared.map((u) => [u.label, u.payloadBytes, ...u.status]),
  );
  addTable(
    workbook,
    'Environment diff',
    ['Item', ...runs.map((r) => r.label)],
    comparison.environmentDiff.map((d) => [d.item, ...d.values]),
  );
  addTable(
    workbook,
    'Runs',
    ['Label', 'Results file', 'Hostname', 'CPU model', 'Run id', 'Started', 'Profile', 'Suite', 'Complete'],
    runs.map((r) => [
      r.label,
      r.path,
      r.results.environment.hostname,
      r.results.environment.cpuModel,
      r.results.run.id,
      r.results.run.startedAt,
      r.results.run.profile,
      r.results.run.suite,
      r.results.complete,
    ]),
  );
  return finishWorkbook(workbook, [], comparison.date);
}

export async function renderComparisonPdf(comparison: Comparison): Promise<Uint8Array> {
  const { runs, shared } = comparison;
  const names = runs.map((r) => r.label);
  const doc = createDoc({
    title: `scaleup comparison: ${names.join(' vs ')}`,
    subject: runs.map((r) => `${machineLabel(r.results)} run ${r.results.run.id}`).join('; '),
    date: comparison.date,
  });
  const title = `Ratio to nginx on the same machine: ${names.join(' vs ')}`;
  const size = Math.max(10, Math.min(15, (15 * contentWidth(doc)) / textWidth(title, 15)));
  doc
    .font(FONT)
    .fontSize(size)
    .fillColor('#000000')
    .text(title, MARGIN, MARGIN, { width: contentWidth(doc), align: 'center' });
  doc
    .fontSize(8)
    .fillColor('#333333')
    .text(
      runs.map((r) => `${r.label}: ${machineLabel(r.results)}, run ${r.results.run.id}`).join(' · '),
      MARGIN,
      doc.y + 2,
      { width: contentWidth(doc), align: 'center' },
    );
  const compared = shared.filter((s) => !s.baseline);
  const categories = compared.map((s) => `${s.label}, ${payloadLabel(s.payloadBytes)}`);
  const data: BarDatum[] = compared.flatMap((s, i) =>
    s.perRun.map((x, r) => {
      const ratio = x.summary?.ratioToBaseline ?? null;
      return {
        category: categories[i]!,
        series: names[r]!,
        value: ratio?.ratio ?? null,
        ciLow: ratio?.ciLow ?? null,
        ciHigh: ratio?.ciHigh ?? null,
      };
    }),
  );
  const top = doc.y + 8;
  const height = doc.page.height - MARGIN - 80 - top;
  if (compared.length) {
    const svg = await barChartSvg(data, {
      title:
        'Served responses/s relative to nginx at the same payload (1.0 = as fast as nginx); whiskers: 95% CI',
      yTitle: 'Ratio to nginx',
      format: '.2f',
      width: contentWidth(doc),
      height,
      categories,
      series: names,
      rule: 1,
    });
    drawSvg(doc, svg, MARGIN, top, contentWidth(doc), height);
  }
  doc.y = top + height + 6;
  const notes = unsharedMessages(comparison);
  paragraph(
    doc,
    notes.length
      ? `Compared on the ${shared.length} scenarios every run measured. ${notes.join('. ')}.`
      : `All ${shared.length} scenarios were measured in every run.`,
    8,
  );

  doc.addPage();
  heading(doc, 'Ratios to nginx, per machine');
  table(
    doc,
    [
      { title: 'Scenario', weight: 2.4 },
      ...names.map((n) => ({ title: n, weight: 1.6, align: 'right' as const })),
    ],
    compared.map((s) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      ...s.perRun.map((x) => {
        const r = x.summary?.ratioToBaseline ?? null;
        return r ? `${fmt(r.ratio, 3)} ${fmtCi(r.ciLow, r.ciHigh, 3)}` : '–';
      }),
    ]),
  );
  heading(doc, 'Medians per machine (responses/s and MB/s, 95% CI)', 12);
  table(
    doc,
    [
      { title: 'Scenario', weight: 2.4 },
      ...names.map((n) => ({ title: n, weight: 1.8, align: 'right' as const })),
    ],
    shared.map((s) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      ...s.perRun.map((x) => {
        const rps = x.summary?.requestsPerSecond ?? null;
        const mb = x.summary?.megabytesPerSecond ?? null;
        return `${fmt(rps?.median)}/s ${fmtCi(rps?.ciLow, rps?.ciHigh)}\n${fmt(mb?.median, 2)} MB/s ${fmtCi(mb?.ciLow, mb?.ciHigh, 2)}`;
      }),
    ]),
  );
  heading(doc, 'Scenarios not compared', 12);
  if (notes.length) bullets(doc, notes);
  else paragraph(doc, 'None: every run measured the same scenarios.');

  heading(doc, 'Environment differences', 12);
  if (comparison.environmentDiff.length) {
    table(
      doc,
      [{ title: 'Item', weight: 1.4 }, ...names.map((n) => ({ title: n, weight: 2 }))],
      comparison.environmentDiff.map((d) => [d.item, ...d.values]),
    );
  } else {
    paragraph(doc, 'The recorded environments do not differ.');
  }
  paragraph(
    doc,
    'Absolute figures depend on each machine (CPU, kernel, virtualisation, load tool); the paired ratio to nginx measured in the same rounds on the same machine cancels most of that, which is why it is the figure to compare.',
    8,
  );
  return finishDoc(doc, `scaleup comparison · ${names.join(' vs ')}`);
}

export const comparisonXlsxExporter: Exporter<Comparison> = {
  name: 'xlsx',
  extension: '.xlsx',
  render: renderComparisonXlsx,
};
export const comparisonPdfExporter: Exporter<Comparison> = {
  name: 'pdf',
  extension: '.pdf',
  render: renderComparisonPdf,
};

export interface ComparisonPaths {
  xlsx: string;
  pdf: string;
  /** Scenarios left out because not every run measured them, in words. */
  notes: string[];
}

/** Writes comparison.xlsx and comparison.pdf into `outDir` from run directories or results. */
export async function writeComparison(
  inputs: (string | ResultsFile)[],
  outDir: string,
): Promise<ComparisonPaths> {
  const loaded = [];
  for (const input of inputs) loaded.push(await loadResults(input));
  const comparison = buildComparison(loaded);
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const exporters = [comparisonXlsxExporter, comparisonPdfExporter];
  const rendered = await Promise.all(exporters.map(async (e) => [e, await e.render(comparison)] as const));
  const written: Record<string, string> = {};
  for (const [exporter, bytes] of rendered) {
    const file = join(dir, `comparison${exporter.extension}`);
    await writeFileAtomic(file, bytes);
    written[exporter.name] = file;
  }
  return { xlsx: written.xlsx!, pdf: written.pdf!, notes: unsharedMessages(comparison) };
}
