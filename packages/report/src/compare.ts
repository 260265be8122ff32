import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ChangeEstimate,
  changeBetween,
  type ResultsFile,
  roundRatios,
  type ScenarioResult,
  UsageError,
} from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import { type BarDatum, barChartSvg, lineChartSvg } from './charts.ts';
import type { Exporter } from './exporter.ts';
import { textWidth } from './font.ts';
import {
  confidenceText,
  environmentPairs,
  machineLabel,
  payloadLabel,
  reportDate,
  runPairs,
} from './model.ts';
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
  /**
   * Per run, its ratio against the first run's, judged against the noise (criterion.rs style);
   * null for the first run, for a baseline, and for runs of a different protocol.
   */
  change: (ChangeEstimate | null)[];
}

/** A scenario some runs measured and others did not: shown with gaps, never compared. */
export interface PartialScenario {
  key: string;
  id: string;
  label: string;
  payloadBytes: number;
  baseline: boolean;
  perRun: (ScenarioResult | null)[];
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
  /** Every scenario any run measured, in order: the shared ones and the partial ones. */
  rows: PartialScenario[];
  unshared: UnsharedScenario[];
  /**
   * How the runs were measured, where they differ (tool, connections, duration, nginx preset,
   * pinning, quota, scaleup version...): their ratios are then not like for like.
   */
  protocolDiff: { item: string; values: string[] }[];
  /** Environment and plan fields whose values differ between runs, one value per run. */
  environmentDiff: { item: string; values: string[] }[];
  /** Sweeps' curves of every run, each point its ratio to that run's nginx at the same point. */
  curves: ComparedCurve[];
  date: Date;
}

/** One scenario's ratio to nginx against workers (or connections), a series per run. */
export interface ComparedCurve {
  key: string;
  label: string;
  axis: 'workers' | 'connections';
  points: { run: string; x: number; ratio: number; ciLow: number; ciHigh: number; lowerBound: boolean }[];
}

/**
 * The curves to overlay: per scenario (id or compareAs), payload and accept mode, ratio to nginx
 * against workers at each connection count, and against connections at each worker count,
 * wherever some run measured two or more values. Normalising by each machine's own nginx at the
 * same point is what makes machines comparable.
 */
export function comparedCurves(runs: readonly ComparedRun[]): ComparedCurve[] {
  const curves = new Map<string, ComparedCurve>();
  for (const run of runs) {
    for (const s of run.results.scenarios) {
      const r = s.summary?.ratioToBaseline ?? null;
      if (s.baseline || r === null) continue;
      const name = s.compareAs ?? s.scenarioId;
      const accept = s.point.accept === null ? '' : `, accept ${s.point.accept}`;
      for (const axis of ['workers', 'connections'] as const) {
        const fixed =
          axis === 'workers' ? `${s.point.connections} connections` : `${s.point.workers} worker(s)`;
        const key = `${name}|${s.payloadBytes}|${s.point.accept ?? ''}|${axis}|${fixed}`;
        let curve = curves.get(key);
        if (curve === undefined) {
          curve = {
            key,
            label: `${name} ${s.label}, ${payloadLabel(s.payloadBytes)}, ${fixed}${accept}`,
            axis,
            points: [],
          };
          curves.set(key, curve);
        }
        curve.points.push({
          run: run.label,
          x: axis === 'workers' ? s.point.workers : s.point.connections,
          ratio: r.ratio,
          ciLow: r.ciLow,
          ciHigh: r.ciHigh,
          lowerBound: s.summary?.lowerBound ?? false,
        });
      }
    }
  }
  return [...curves.values()].filter((c) =>
    runs.some((run) => new Set(c.points.filter((p) => p.run === run.label).map((p) => p.x)).size > 1),
  );
}

/**
 * Scenarios line up by id (or the id they declare with compareAs) and payload: the suite's names
 * are what a scenario measures, whichever server measured it on each machine.
 */
function scenarioKey(s: ScenarioResult): string {
  return `${s.compareAs ?? s.id}|${s.payloadBytes}`;
}

/** The protocol of a run: what must match for two runs' figures to be like for like. */
export function protocolPairs(results: ResultsFile): [string, string][] {
  const p = results.plan;
  const presets = [
    ...new Set(results.scenarios.flatMap((s) => (s.server.kind === 'nginx' ? [s.server.preset] : []))),
  ];
  const t = results.topology;
  return [
    ['source', results.run.source],
    ['load tool', p.tool],
    [
      'load',
      p.durationSeconds !== null
        ? `${p.durationSeconds} s per repetition`
        : `${p.requests} requests per repetition`,
    ],
    [
      'connections',
      `${p.sweep.connections.join(',')}${p.baselineConnections !== null ? ` (nginx ${p.baselineConnections})` : ''}`,
    ],
    ['threads', String(p.threads)],
    ['keep-alive', p.keepAlive ? 'yes' : 'no'],
    ['workers', p.sweep.workers.join(',')],
    ['nginx preset', presets.join(',') || '(none)'],
    ['pinning', t.pinned ? `split (server CPUs ${t.serverCpus?.join(',') ?? 'per point'})` : 'none'],
    ['server CPU quota', t.serverCpuQuotaCores === null ? 'none' : `${t.serverCpuQuotaCores} CPU`],
    ['load hosts', p.loadHosts.join(',')],
    ['scaleup version', results.run.scaleupVersion],
  ];
}

/** One line per protocol difference, e.g. "connections: 16 vs 48". */
export function protocolMessages(comparison: Comparison): string[] {
  return comparison.protocolDiff.map((d) => `${d.item}: ${d.values.join(' vs ')}`);
}

/** "no change detected", or "+12.0% [8.1%, 15.2%]" at its confidence, as criterion.rs says it. */
export function changeText(change: ChangeEstimate): string {
  if (!change.significant) return 'no change detected';
  const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;
  return `${pct(change.ratio)} [${pct(change.ciLow)}, ${pct(change.ciHigh)}]`;
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
  const rows: PartialScenario[] = [];
  const unshared: UnsharedScenario[] = [];
  for (const key of order) {
    const perRun = byKey.get(key)!;
    const s = first(key);
    const status = perRun.map((x) =>
      x === undefined ? 'missing' : x.summary === null || x.skipped !== null ? 'skipped' : 'measured',
    );
    const row = {
      key,
      id: s.compareAs ?? s.id,
      label: s.label,
      payloadBytes: s.payloadBytes,
      baseline: s.baseline,
    };
    if (status.some((st) => st === 'measured')) {
      rows.push({ ...row, perRun: perRun.map((x, i) => (status[i] === 'measured' ? x! : null)) });
    }
    if (status.every((st) => st === 'measured')) {
      shared.push({ ...row, perRun: perRun as ScenarioResult[], change: perRun.map(() => null) });
    } else {
      unshared.push({ key, label: `${row.id} ${s.label}`, payloadBytes: s.payloadBytes, status });
    }
  }

  const protocolSets = runs.map((run) => new Map(protocolPairs(run.results)));
  const protocolItems = [...protocolSets[0]!.keys()];
  const protocolDiff = protocolItems
    .map((item) => ({ item, values: protocolSets.map((p) => p.get(item) ?? '(absent)') }))
    .filter((row) => new Set(row.values).size > 1);
  if (protocolDiff.length === 0) {
    // Like for like: is each later run's ratio beyond the noise of the first's?
    for (const s of shared) {
      if (s.baseline) continue;
      const ratiosOf = (x: ScenarioResult, results: ResultsFile) => {
        const baseline = results.scenarios.find((b) => b.id === x.summary?.ratioToBaseline?.baseline);
        return baseline === undefined ? [] : roundRatios(x.repetitions, baseline.repetitions);
      };
      const reference = ratiosOf(s.perRun[0]!, runs[0]!.results);
      s.change = s.perRun.map((x, i) => {
        if (i === 0 || reference.length === 0) return null;
        const ratios = ratiosOf(x, runs[i]!.results);
        return ratios.length === 0
          ? null
          : changeBetween(reference, ratios, runs[0]!.results.plan.confidenceTarget);
      });
    }
  }

  const pairSets = runs.map((run) => {
    // The protocol has a section of its own; the rest is the run's and the machine's.
    const plan = runPairs(run.results).filter(
      ([k]) =>
        ![
          'Run id',
          'Started',
          'Finished',
          'Command',
          'Load tool',
          'Load',
          'Connections',
          'Client threads',
          'Keep-alive',
          'Pinning',
          'scaleup version',
        ].includes(k),
    );
    return new Map([...plan, ...environmentPairs(run.results)]);
  });
  const items: string[] = [];
  for (const pairs of pairSets) for (const k of pairs.keys()) if (!items.includes(k)) items.push(k);
  const environmentDiff = items
    .map((item) => ({ item, values: pairSets.map((p) => p.get(item) ?? '(absent)') }))
    .filter((row) => new Set(row.values).size > 1);

  const date = new Date(Math.max(...runs.map((r) => reportDate(r.results).getTime())));
  return { runs, shared, rows, unshared, protocolDiff, environmentDiff, curves: comparedCurves(runs), date };
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

function ratioCellText(x: ScenarioResult | null): string {
  const r = x?.summary?.ratioToBaseline ?? null;
  if (r === null) return '–';
  return `${fmt(r.ratio, 3)} ${fmtCi(r.ciLow, r.ciHigh, 3)} ${confidenceText(r)}`;
}

export async function renderComparisonXlsx(comparison: Comparison): Promise<Uint8Array> {
  const { runs, rows } = comparison;
  const workbook = newWorkbook(
    comparison.date,
    `scaleup comparison of ${runs.map((r) => r.label).join(', ')}`,
  );
  const changeOf = (key: string, run: number) =>
    comparison.shared.find((s) => s.key === key)?.change[run] ?? null;

  const scenarioCells = (s: PartialScenario): Cell[] => [s.id, s.label, s.payloadBytes];
  const ratioHeader = ['Scenario', 'Label', 'Payload (bytes)'];
  const ratioFormats: Record<number, string> = {};
  runs.forEach((run, i) => {
    for (const part of ['ratio to nginx', 'CI low', 'CI high']) {
      ratioFormats[ratioHeader.length] = FORMATS.ratio;
      ratioHeader.push(`${run.label}: ${part}`);
    }
    ratioHeader.push(`${run.label}: confidence`);
    if (i > 0) ratioHeader.push(`${run.label}: vs ${runs[0]!.label}`);
  });
  ratioFormats[ratioHeader.length] = FORMATS.ratio;
  ratioHeader.push('Highest / lowest ratio');
  addTable(
    workbook,
    'Ratios to nginx',
    ratioHeader,
    rows
      .filter((s) => !s.baseline)
      .map((s) => {
        const ratios = s.perRun.map((x) => x?.summary?.ratioToBaseline ?? null);
        const values = ratios.flatMap((r) => (r ? [r.ratio] : []));
        const spread =
          values.length === runs.length && Math.min(...values) > 0
            ? Math.max(...values) / Math.min(...values)
            : null;
        return [
          ...scenarioCells(s),
          ...ratios.flatMap((r, i) => {
            const cells: Cell[] = [
              r?.ratio ?? null,
              r?.ciLow ?? null,
              r?.ciHigh ?? null,
              r ? confidenceText(r) : null,
            ];
            if (i > 0) {
              const change = changeOf(s.key, i);
              cells.push(
                change !== null
                  ? changeText(change)
                  : comparison.protocolDiff.length > 0
                    ? 'different protocol'
                    : null,
              );
            }
            return cells;
          }),
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
      for (const part of ['median', 'CI low', 'CI high']) {
        medianFormats[medianHeader.length] = FORMATS[metric];
        medianHeader.push(`${run.label}: ${name} ${part}`);
      }
    }
  }
  addTable(
    workbook,
    'Medians',
    medianHeader,
    rows.map((s) => [
      ...scenarioCells(s),
      ...(['requestsPerSecond', 'megabytesPerSecond'] as const).flatMap((metric) =>
        s.perRun.flatMap((x) => {
          const st = x?.summary?.[metric] ?? null;
          return [st?.median ?? null, st?.ciLow ?? null, st?.ciHigh ?? null];
        }),
      ),
    ]),
    medianFormats,
  );

  if (comparison.curves.length > 0) {
    addTable(
      workbook,
      'Curves',
      [
        'Curve',
        'Axis',
        'Run',
        'Workers or connections',
        'Ratio to nginx',
        'CI low',
        'CI high',
        'Lower bound',
      ],
      comparison.curves.flatMap((c) =>
        c.points.map((p) => [c.label, c.axis, p.run, p.x, p.ratio, p.ciLow, p.ciHigh, p.lowerBound]),
      ),
      { 4: FORMATS.ratio, 5: FORMATS.ratio, 6: FORMATS.ratio },
    );
  }
  addTable(
    workbook,
    'Protocol',
    ['Item', ...runs.map((r) => r.label), 'Same'],
    protocolPairs(runs[0]!.results).map(([item]) => {
      const values = runs.map((r) => new Map(protocolPairs(r.results)).get(item) ?? '(absent)');
      return [item, ...values, new Set(values).size === 1 ? 'yes' : 'NO'];
    }),
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

/** The sweeps of every machine on one set of axes: each normalised to its own nginx at the point. */
async function curvesPage(doc: PDFKit.PDFDocument, comparison: Comparison): Promise<void> {
  doc.addPage();
  heading(doc, 'Curves: ratio to nginx at the same point, per machine');
  const names = comparison.runs.map((r) => r.label);
  const columns = comparison.curves.length > 1 ? 2 : 1;
  const gap = 12;
  const width = (contentWidth(doc) - gap * (columns - 1)) / columns;
  const height = 220;
  let top = doc.y + 4;
  for (const [i, curve] of comparison.curves.entries()) {
    if (i > 0 && i % columns === 0) {
      top += height + gap;
      if (top + height > doc.page.height - MARGIN) {
        doc.addPage();
        top = MARGIN;
      }
    }
    const svg = await lineChartSvg(
      curve.points.map((p) => ({
        series: p.run,
        x: p.x,
        y: p.ratio,
        low: p.ciLow,
        high: p.ciHigh,
        lowerBound: p.lowerBound,
      })),
      {
        title: curve.label,
        subtitle: '1.0 = as fast as nginx on the same machine at the same point; hollow: a lower bound',
        xTitle: curve.axis === 'workers' ? 'Workers' : 'Connections',
        yTitle: 'Ratio to nginx',
        format: '.2f',
        width,
        height,
        series: names,
        logX: true,
        rule: 1,
      },
    );
    drawSvg(doc, svg, MARGIN + (i % columns) * (width + gap), top, width, height);
  }
  doc.y = top + height + gap;
}

export async function renderComparisonPdf(comparison: Comparison): Promise<Uint8Array> {
  const { runs, rows } = comparison;
  const names = runs.map((r) => r.label);
  const doc = createDoc({
    title: `scaleup comparison: ${names.join(' vs ')}`,
    subject: runs.map((r) => `${machineLabel(r.results)} run ${r.results.run.id}`).join('; '),
    date: comparison.date,
  });
  const protocol = protocolMessages(comparison);
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
  if (protocol.length > 0) {
    doc
      .fontSize(8.5)
      .fillColor('#9C0006')
      .text(
        `Measured under different protocols, so these ratios are not like for like: ${protocol.join('; ')}.`,
        MARGIN,
        doc.y + 4,
        { width: contentWidth(doc), align: 'center' },
      );
  }
  const compared = rows.filter((s) => !s.baseline);
  const categories = compared.map((s) => `${s.label}, ${payloadLabel(s.payloadBytes)}`);
  const data: BarDatum[] = compared.flatMap((s, i) =>
    s.perRun.map((x, r) => {
      const ratio = x?.summary?.ratioToBaseline ?? null;
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
        'Served responses/s relative to nginx at the same payload (1.0 = as fast as nginx); whiskers: the interval of the median per-round ratio',
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
      ? `${comparison.shared.length} scenarios were measured in every run. ${notes.join('. ')}.`
      : `All ${comparison.shared.length} scenarios were measured in every run.`,
    8,
  );

  doc.addPage();
  heading(doc, 'Ratios to nginx, per machine');
  paragraph(
    doc,
    protocol.length > 0
      ? 'The runs differ in protocol (below), so no change between them is judged.'
      : `Each later run against ${names[0]}: "no change detected" when the interval of the ratio of ratios contains 1, else the change with its interval (at least ${Math.round(runs[0]!.results.plan.confidenceTarget * 100)}% together).`,
    8,
  );
  table(
    doc,
    [
      { title: 'Scenario', weight: 2.2 },
      ...names.map((n) => ({ title: n, weight: 1.8, align: 'right' as const })),
    ],
    compared.map((s) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      ...s.perRun.map((x, i) => {
        const change = comparison.shared.find((c) => c.key === s.key)?.change[i] ?? null;
        return `${ratioCellText(x)}${change !== null ? `\n${changeText(change)}` : ''}`;
      }),
    ]),
  );
  if (comparison.curves.length > 0) await curvesPage(doc, comparison);
  heading(doc, 'Medians per machine (responses/s and MB/s, with their intervals)', 12);
  table(
    doc,
    [
      { title: 'Scenario', weight: 2.4 },
      ...names.map((n) => ({ title: n, weight: 1.8, align: 'right' as const })),
    ],
    rows.map((s) => [
      `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}`,
      ...s.perRun.map((x) => {
        const rps = x?.summary?.requestsPerSecond ?? null;
        const mb = x?.summary?.megabytesPerSecond ?? null;
        if (rps === null) return '–';
        return `${fmt(rps.median)}/s ${fmtCi(rps.ciLow, rps.ciHigh)} ${confidenceText(rps)}\n${fmt(mb?.median, 2)} MB/s ${fmtCi(mb?.ciLow, mb?.ciHigh, 2)}`;
      }),
    ]),
  );
  heading(doc, 'Protocol', 12);
  if (protocol.length) bullets(doc, protocol);
  else
    paragraph(
      doc,
      'Every run was measured the same way (tool, load, connections, threads, workers, nginx preset, pinning, quota, hosts, scaleup version).',
    );
  heading(doc, 'Scenarios not in every run', 12);
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
  /** Scenarios not every run measured, in words. */
  notes: string[];
  /** Protocol differences, one line each ("connections: 16 vs 48"). */
  protocol: string[];
  /** Per compared scenario and later run: its change against the first run, in words. */
  changes: string[];
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
  return {
    xlsx: written.xlsx!,
    pdf: written.pdf!,
    notes: unsharedMessages(comparison),
    protocol: protocolMessages(comparison),
    changes: changeMessages(comparison),
  };
}

/** "1a scaleup fixed resource, 10 kB: bench-b vs bench-a: +12.0% [8.1%, 15.2%]" per later run. */
export function changeMessages(comparison: Comparison): string[] {
  const out: string[] = [];
  for (const s of comparison.shared) {
    s.change.forEach((change, i) => {
      if (change === null) return;
      out.push(
        `${s.id} ${s.label}, ${payloadLabel(s.payloadBytes)}: ${comparison.runs[i]!.label} vs ${comparison.runs[0]!.label}: ${changeText(change)}`,
      );
    });
  }
  return out;
}
