import {
  type ChangeEstimate,
  changeBetween,
  type ResultsFile,
  roundRatios,
  type ScenarioResult,
  UsageError,
} from '@scaleup/core';
import {
  displayResults,
  EFFICIENCY_NOTE,
  efficiencyView,
  hasCosts,
  isLowerBound,
  NO_COST_DATA,
  quotaNote,
  type RatioView,
} from './display.ts';
import { environmentPairs, payloadLabel, reportDate, runPairs } from './model.ts';

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
          lowerBound: isLowerBound(s),
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
  // Every view (the files and the terminal lines) shows the runs' text cleaned and bounded.
  const shown = inputs.map((input) => ({ ...input, results: displayResults(input.results) }));
  const labels = uniqueLabels(shown.map((i) => i.results));
  const runs = shown.map((input, i) => ({ ...input, label: labels[i]! }));

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

/** A machine's efficiency for a scenario: its view, or no cost data at all in that run. */
export type ComparedEfficiency = RatioView | { kind: 'no-costs' };

/**
 * The efficiency to nginx of one run's scenario, as every comparison view shows it: the run
 * recorded no costs (shown n/a, never 0), the baseline, no pairs, or the ratio with its interval.
 */
export function comparedEfficiency(
  comparison: Comparison,
  s: { perRun: readonly (ScenarioResult | null)[] },
  run: number,
): ComparedEfficiency {
  if (!hasCosts(comparison.runs[run]!.results)) return { kind: 'no-costs' };
  const x = s.perRun[run] ?? null;
  return x === null ? { kind: 'none' } : efficiencyView(x);
}

/** Whether any run of the comparison carries costs: only then do its views show efficiency. */
export function comparisonHasCosts(comparison: Comparison): boolean {
  return comparison.runs.some((run) => hasCosts(run.results));
}

/** "1.234 [1.200 – 1.300] 95.3%", "baseline", "–", or "n/a (no cost data)": one efficiency cell. */
export function efficiencyText(e: ComparedEfficiency): string {
  if (e.kind === 'no-costs') return `${NO_COST_DATA} (no cost data)`;
  if (e.kind === 'baseline') return 'baseline';
  if (e.kind === 'none') return '–';
  return `${e.figure} ${e.interval}${e.note === null ? '' : ` (${e.note})`}`;
}

/**
 * What a reader of the comparison needs to read the efficiency and the absolute figures: what
 * efficiency is, which runs have no cost data, and per run under a CPU quota what its
 * responses/s are per.
 */
export function costMessages(comparison: Comparison): string[] {
  const out: string[] = [];
  if (comparisonHasCosts(comparison)) {
    out.push(`${EFFICIENCY_NOTE[0]!.toUpperCase()}${EFFICIENCY_NOTE.slice(1)}.`);
    const without = comparison.runs.filter((run) => !hasCosts(run.results)).map((run) => run.label);
    if (without.length > 0) {
      out.push(
        `${without.join(', ')} recorded no cost per response (a run from before costs, or an import), so ${without.length === 1 ? 'its' : 'their'} efficiency is ${NO_COST_DATA}.`,
      );
    }
  }
  for (const run of comparison.runs) {
    const note = quotaNote(run.results);
    if (note !== null) out.push(`${run.label}: ${note}`);
  }
  return out;
}
