import {
  minimumRepetitionsFor,
  type Ratio,
  type ResultsFile,
  type ScalingCurve,
  type ScenarioResult,
  type ServerDescription,
  type StatSummary,
} from '@scaleup/core';
import type { BarDatum, LineDatum } from './charts.ts';
import {
  EFFICIENCY_NOTE,
  efficiencyView,
  hasCosts,
  isLowerBound,
  serverCpuView,
  toolCpuView,
} from './display.ts';
import { COST_D3_FORMAT } from './format.ts';

/**
 * The seed's table, derived from whatever scenarios a run holds: one row per server
 * configuration, one column group per payload size. Every exporter draws from this one model so
 * the workbook, the PDF and the comparison can never disagree about which number is which.
 */

export type Metric = 'requestsPerSecond' | 'megabytesPerSecond';
export const METRICS: readonly Metric[] = ['requestsPerSecond', 'megabytesPerSecond'];

export interface ServerRow {
  /** Stable identity of the server configuration (kind, resource, accept mode, ...). */
  key: string;
  label: string;
  kind: ServerDescription['kind'];
  /** Scenario per payload size; absent when the run has no scenario for that cell. */
  cells: Map<number, ScenarioResult>;
}

export interface ResultsTable {
  /** Payload sizes present, ascending (the seed's 40 B then 10 kB). */
  payloads: number[];
  rows: ServerRow[];
}

export function payloadLabel(bytes: number): string {
  if (bytes >= 1_000_000 && bytes % 1_000_000 === 0) return `${bytes / 1_000_000} MB`;
  if (bytes >= 1000 && bytes % 1000 === 0) return `${bytes / 1000} kB`;
  return `${bytes} bytes`;
}

export function metricLabel(metric: Metric): string {
  return metric === 'requestsPerSecond' ? 'Responses/s' : 'MB/s';
}

/** The seed's own chart and column titles, e.g. "Served HTTP Responses/s (40 bytes payload)". */
export function metricTitle(metric: Metric, payloadBytes: number): string {
  return `Served HTTP ${metricLabel(metric)} (${payloadLabel(payloadBytes)} payload)`;
}

function baseKey(server: ServerDescription): string {
  switch (server.kind) {
    case 'scaleup':
      return `scaleup:${server.resource}`;
    case 'nginx':
      return 'nginx';
    case 'command':
      return `command:${server.command.join(' ')}`;
    case 'imported':
      return `imported:${server.name}`;
  }
}

/**
 * The engine, named only when it is node:http: net is what every result before engines had, so
 * their labels stay as they were, and two engines of one suite never share a label.
 */
function engineText(server: Extract<ServerDescription, { kind: 'scaleup' }>): string {
  return server.engine === 'http' ? 'engine node:http, ' : '';
}

/** Configuration details that can split one base row into several (accept mode, preset, ...). */
function variantKey(server: ServerDescription): string {
  switch (server.kind) {
    case 'scaleup':
      // Without zero-copy sends it is a different server at 4 KiB and up, so a row of its own.
      return `${engineText(server)}accept ${server.accept}, ${server.workers} worker${server.workers === 1 ? '' : 's'}, backlog ${server.backlog}${server.zeroCopy ? '' : ', write() only'}`;
    case 'nginx':
      return `${server.preset}, ${server.workers} worker${server.workers === 1 ? '' : 's'}`;
    case 'command':
      return server.cwd ?? '';
    case 'imported':
      return server.workers === null ? '' : `${server.workers} workers`;
  }
}

function baseLabel(scenario: ScenarioResult): string {
  const server = scenario.server;
  switch (server.kind) {
    case 'scaleup':
      return `scaleup ${server.resource} resource`;
    case 'nginx':
      return 'nginx';
    case 'command':
    case 'imported':
      return scenario.label;
  }
}

// The seed's order: file resource, fixed resource, then nginx last as the yardstick.
const KIND_ORDER: Record<string, number> = { 'scaleup:file': 0, 'scaleup:fixed': 1, 'scaleup:data': 2 };
function rowRank(row: ServerRow): number {
  const key = row.key.split('|')[0]!;
  if (key in KIND_ORDER) return KIND_ORDER[key]!;
  return row.kind === 'nginx' ? 9 : 5;
}

export function buildTable(results: ResultsFile): ResultsTable {
  const payloads = [...new Set(results.scenarios.map((s) => s.payloadBytes))].sort((a, b) => a - b);
  const variantsPerBase = new Map<string, Set<string>>();
  for (const s of results.scenarios) {
    const base = baseKey(s.server);
    if (!variantsPerBase.has(base)) variantsPerBase.set(base, new Set());
    variantsPerBase.get(base)!.add(variantKey(s.server));
  }
  const rows: ServerRow[] = [];
  for (const s of results.scenarios) {
    const base = baseKey(s.server);
    const variant = variantKey(s.server);
    const split = variantsPerBase.get(base)!.size > 1;
    let key = split ? `${base}|${variant}` : base;
    if (s.id !== s.scenarioId) key = `${key}@${s.id.slice(s.scenarioId.length + 1)}`;
    let row = rows.find((r) => r.key === key);
    // Two scenarios for the same server and payload (a suite can repeat one) keep both figures.
    if (row?.cells.has(s.payloadBytes)) {
      key = `${key}|${s.id}`;
      row = rows.find((r) => r.key === key);
    }
    if (row === undefined) {
      let label = split && variant ? `${baseLabel(s)} (${variant})` : baseLabel(s);
      // A sweep point is its own row, named by its point: "scaleup fixed resource @ w2,c64".
      if (s.id !== s.scenarioId) label = `${baseLabel(s)} @ ${s.id.slice(s.scenarioId.length + 1)}`;
      if (key.endsWith(`|${s.id}`)) label = `${label} [${s.id}]`;
      row = { key, label, kind: s.server.kind, cells: new Map() };
      rows.push(row);
    }
    row.cells.set(s.payloadBytes, s);
  }
  const order = new Map(rows.map((r, i) => [r, i]));
  rows.sort((a, b) => rowRank(a) - rowRank(b) || order.get(a)! - order.get(b)!);
  return { payloads, rows };
}

export function stat(scenario: ScenarioResult | undefined, metric: Metric): StatSummary | null {
  return scenario?.summary?.[metric] ?? null;
}

export function ratio(scenario: ScenarioResult | undefined): Ratio | null {
  return scenario?.summary?.ratioToBaseline ?? null;
}

/**
 * The instant a report is "made": the run's end (or start). Taking it from results.json instead
 * of the clock is what makes the output a pure function of its input.
 */
export function reportDate(results: ResultsFile): Date {
  for (const value of [results.run.finishedAt, results.run.startedAt]) {
    if (value === null) continue;
    const date = new Date(value);
    if (!Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1980 && date.getUTCFullYear() < 2100) {
      return new Date(Math.floor(date.getTime() / 1000) * 1000);
    }
  }
  // Zip timestamps cannot go before 1980; an unparseable date gets a fixed stand-in.
  return new Date(Date.UTC(1980, 0, 1));
}

export function machineLabel(results: ResultsFile): string {
  return `${results.environment.hostname} (${results.environment.cpuModel})`;
}

export function describeServer(server: ServerDescription): string {
  switch (server.kind) {
    case 'scaleup':
      return `scaleup, ${engineText(server)}${server.resource} resource, accept ${server.accept}, ${server.workers} worker(s), backlog ${server.backlog}, ${server.zeroCopy ? 'sendfile for large responses' : 'write() only'}`;
    case 'nginx':
      return `nginx ${server.version ?? ''} ${server.preset}, ${server.workers} worker(s)`.replace(
        /\s+/g,
        ' ',
      );
    case 'command':
      return `command: ${server.command.join(' ')}`;
    case 'imported':
      return `${server.name}${server.workers === null ? '' : `, ${server.workers} worker(s)`} (imported: measured by hand)`;
  }
}

export interface Concern {
  scenario: string | null;
  text: string;
}

/** Everything a reader should distrust, in one list: run warnings, bad repetitions, tuning. */
export function concerns(results: ResultsFile): Concern[] {
  const out: Concern[] = [];
  if (!results.complete) {
    out.push({
      scenario: null,
      text: `The run is incomplete${results.interrupted ? `: ${results.interrupted}` : ''}.`,
    });
  }
  for (const w of results.warnings) out.push({ scenario: null, text: w });
  for (const s of results.scenarios) {
    if (s.skipped !== null) out.push({ scenario: s.id, text: `Skipped: ${s.skipped}` });
    if (s.verification && !s.verification.ok) {
      out.push({
        scenario: s.id,
        text: `Response check failed: status ${s.verification.status}, ${s.verification.bodyBytes} of ${s.verification.expectedBodyBytes} body bytes${s.verification.detail ? ` (${s.verification.detail})` : ''}`,
      });
    }
    for (const rep of s.repetitions) {
      if (!rep.verdict.valid) {
        out.push({
          scenario: s.id,
          text: `Round ${rep.round} invalid: ${rep.verdict.reasons.join('; ') || 'no reason given'}`,
        });
      }
      if (rep.verdict.clientBound) {
        out.push({
          scenario: s.id,
          text: `Round ${rep.round} client-bound: ${rep.verdict.clientBoundReason ?? 'the load tool was the bottleneck'}`,
        });
      }
    }
  }
  for (const t of results.tuning) {
    if (!t.ok) {
      out.push({
        scenario: null,
        text: `Tuning: ${t.setting} is ${t.actual ?? 'unreadable'} (recommended ${t.recommended}); ${t.impact}. Fix: ${t.fix}`,
      });
    }
  }
  return out;
}

/** Environment as ordered label/value pairs; shared by the sheets, the PDF and the diff. */
export function environmentPairs(results: ResultsFile): [string, string][] {
  const e = results.environment;
  const text = (v: string | number | boolean | null) => (v === null ? '(unknown)' : String(v));
  const pairs: [string, string][] = [
    ['Hostname', e.hostname],
    ['CPU model', e.cpuModel],
    ['Physical cores', text(e.physicalCores)],
    ['Logical cores', text(e.logicalCores)],
    ['SMT', text(e.smt)],
    ['Memory (GiB)', e.memoryBytes === null ? '(unknown)' : (e.memoryBytes / 2 ** 30).toFixed(1)],
    ['Kernel', text(e.kernel)],
    ['Distribution', text(e.distribution)],
    ['Virtualisation', text(e.virtualisation)],
    ['CPU governor', text(e.cpuGovernor)],
    ['Node.js', text(e.nodeVersion)],
    ['nginx', e.nginx.version ?? e.nginx.missing ?? '(unknown)'],
  ];
  for (const tool of e.tools)
    pairs.push([`Load tool ${tool.name}`, tool.version ?? tool.missing ?? '(unknown)']);
  pairs.push(['Open files (soft/hard)', `${text(e.openFilesSoft)} / ${text(e.openFilesHard)}`]);
  for (const [name, value] of Object.entries(e.sysctls).sort(([a], [b]) => a.localeCompare(b))) {
    pairs.push([`sysctl ${name}`, text(value)]);
  }
  pairs.push(['Git commit', `${text(e.git.commit)}${e.git.dirty ? ' (dirty)' : ''}`]);
  return pairs;
}

export function runPairs(results: ResultsFile): [string, string][] {
  const p = results.plan;
  const load =
    p.durationSeconds !== null
      ? `${p.durationSeconds} s per repetition`
      : `${p.requests ?? '?'} requests per repetition`;
  return [
    ['Run id', results.run.id],
    ['Started', results.run.startedAt],
    ['Finished', results.run.finishedAt ?? '(not finished)'],
    ['Complete', results.complete ? 'yes' : `no${results.interrupted ? ` (${results.interrupted})` : ''}`],
    ['Profile', results.run.profile],
    ['Suite', results.run.suite],
    ['Command', results.run.argv.join(' ')],
    ['scaleup version', results.run.scaleupVersion],
    ['Load tool', p.tool],
    ['Load', load],
    [
      'Connections',
      `${p.connections}${p.baselineConnections !== null ? ` (nginx baseline: ${p.baselineConnections})` : ''}`,
    ],
    ['Client threads', String(p.threads)],
    ['Keep-alive', p.keepAlive ? 'yes' : 'no'],
    ['Repetitions', String(p.repetitions)],
    ['Warm-up', `${p.warmupRuns} run(s) of ${p.warmupSeconds} s`],
    ['Pinning', results.topology.pinned ? 'yes' : 'no'],
    ['Server CPUs', results.topology.serverCpus?.join(',') ?? '(any)'],
    ['Load tool CPUs', results.topology.loadCpus?.join(',') ?? '(any)'],
    ['Topology', results.topology.description],
  ];
}

/** Whether any figure of the run has an interval short of the level asked (the `*` footnote). */
export function hasShortIntervals(results: ResultsFile): boolean {
  return results.scenarios.some((s) => {
    const estimates = [
      s.summary?.requestsPerSecond,
      s.summary?.megabytesPerSecond,
      s.summary?.ratioToBaseline,
      s.summary?.serverCpuMicrosPerResponse,
      s.summary?.efficiencyToBaseline,
    ];
    return estimates.some((e) => e != null && e.confidence < e.confidenceTarget);
  });
}

/** What the intervals are, in one paragraph every report prints the same way. */
export function intervalExplanation(results: ResultsFile): string {
  const target = Math.round(results.plan.confidenceTarget * 100);
  const parts = [
    `Intervals are distribution-free confidence intervals of the median from order statistics (binomial rank bounds), each with the confidence it really reaches; the level asked for is ${target}%.`,
    'The ratio to nginx is the median over rounds of (server / nginx in the same round), with the same kind of interval over those per-round ratios.',
  ];
  if (hasCosts(results)) parts.push(`${EFFICIENCY_EXPLANATION}.`);
  if (hasShortIntervals(results)) {
    parts.push(
      `* marks an interval short of ${target}%: with too few valid repetitions even min..max cannot cover the median that often (${target}% needs at least ${minimumRepetitionsFor(results.plan.confidenceTarget)}), so the reached confidence is shown instead of a claimed one.`,
    );
  }
  return parts.join(' ');
}

/** Which sweep axes a run has (more than one value). A run without any looks as before sweeps. */
export function sweptAxes(results: ResultsFile): {
  workers: boolean;
  connections: boolean;
  serverCpus: boolean;
  accept: boolean;
  any: boolean;
} {
  const s = results.plan.sweep;
  const axes = {
    workers: s.workers.length > 1,
    connections: s.connections.length > 1,
    serverCpus: (s.serverCpus?.length ?? 0) > 1,
    accept: (s.accept?.length ?? 0) > 1,
  };
  return { ...axes, any: axes.workers || axes.connections || axes.serverCpus || axes.accept };
}

/** "scaleup fixed resource, 40 bytes, 64 connections, accept shared": one curve's name. */
export function curveLabel(curve: ScalingCurve): string {
  return [
    curve.label,
    payloadLabel(curve.payloadBytes),
    `${curve.connections} connections`,
    ...(curve.accept === null ? [] : [`accept ${curve.accept}`]),
  ].join(', ');
}

/** Throughput and p99 against connections: one curve per scenario, worker count and accept mode. */
export interface ConcurrencyCurve {
  key: string;
  label: string;
  scenarioId: string;
  payloadBytes: number;
  baseline: boolean;
  workers: number;
  accept: ScenarioResult['point']['accept'];
  points: { connections: number; result: ScenarioResult }[];
}

export function concurrencyCurves(results: ResultsFile): ConcurrencyCurve[] {
  const curves = new Map<string, ConcurrencyCurve>();
  for (const r of results.scenarios) {
    if (r.summary === null) continue;
    const key = [r.scenarioId, r.payloadBytes, r.point.workers, r.point.accept ?? ''].join('|');
    let curve = curves.get(key);
    if (curve === undefined) {
      curve = {
        key,
        label: [
          r.label,
          payloadLabel(r.payloadBytes),
          `${r.point.workers} worker${r.point.workers === 1 ? '' : 's'}`,
          ...(r.point.accept === null ? [] : [`accept ${r.point.accept}`]),
        ].join(', '),
        scenarioId: r.scenarioId,
        payloadBytes: r.payloadBytes,
        baseline: r.baseline,
        workers: r.point.workers,
        accept: r.point.accept,
        points: [],
      };
      curves.set(key, curve);
    }
    curve.points.push({ connections: r.point.connections, result: r });
  }
  return [...curves.values()]
    .filter((c) => new Set(c.points.map((p) => p.connections)).size > 1)
    .map((c) => ({ ...c, points: c.points.sort((a, b) => a.connections - b.connections) }));
}

/** A point's short name, as in result ids: "w2, c64, reuseport". */
export function pointLabel(point: ScenarioResult['point']): string {
  return [
    `w${point.workers}`,
    `c${point.connections}`,
    ...(point.serverCpus === null ? [] : [`cpu ${point.serverCpus.join(',')}`]),
    ...(point.accept === null ? [] : [point.accept]),
  ].join(', ');
}

/** Latency percentiles in the order every report shows them. */
export const LATENCY_PERCENTILES = [
  ['p50Micros', 'p50'],
  ['p90Micros', 'p90'],
  ['p99Micros', 'p99'],
  ['p999Micros', 'p99.9'],
] as const;

export interface BarChartDefinition {
  title: string;
  yTitle: string;
  format: string;
  categories: string[];
  data: BarDatum[];
  /** Series beside each other in a category (the server's cost, the tool's), in this order. */
  series?: string[];
  /** A dashed reference line (1.0: as cheap per response as nginx). */
  rule?: number;
}

/** The cost chart's title at a payload, the same in the pdf, the page and the workbook. */
export function costChartTitle(payload: number): string {
  return `CPU per response (µs, ${payloadLabel(payload)} payload): server and load tool`;
}

export function efficiencyChartTitle(payload: number): string {
  return `Efficiency to nginx (${payloadLabel(payload)} payload)`;
}

/** The two series of a cost chart: what the server spent per response, and the load tool. */
export function costSeries(results: ResultsFile): { server: string; tool: string | null } {
  const tool = results.scenarios.some((s) =>
    s.repetitions.some((r) => r.cost?.toolCpuMicrosPerResponse != null),
  );
  return { server: 'server CPU', tool: tool ? `${results.plan.tool} CPU (load tool)` : null };
}

/**
 * The cost charts of a run with costs, as data every exporter draws the same way: per payload,
 * the CPU per response (median, whiskers: its interval) of every server with the load tool's
 * against it beside it, then the efficiency to nginx with its interval for every other server,
 * against a dashed 1.0. None for a run without costs.
 */
export function costCharts(results: ResultsFile): BarChartDefinition[] {
  if (!hasCosts(results)) return [];
  const table = buildTable(results);
  const names = costSeries(results);
  const charts: BarChartDefinition[] = [];
  const bar = (category: string, series: string, st: StatSummary | null): BarDatum => ({
    category,
    series,
    value: st?.median ?? null,
    ciLow: st?.ciLow ?? null,
    ciHigh: st?.ciHigh ?? null,
  });
  for (const payload of table.payloads) {
    const cpu = table.rows.flatMap((row): BarDatum[] => {
      const s = row.cells.get(payload);
      const server = bar(row.label, names.server, s === undefined ? null : (serverCpuView(s)?.stat ?? null));
      if (names.tool === null) return [server];
      const tool = s === undefined ? null : toolCpuView(s, results.plan.confidenceTarget);
      return [server, bar(row.label, names.tool, tool?.stat ?? null)];
    });
    charts.push({
      title: costChartTitle(payload),
      yTitle: 'CPU µs per response',
      format: COST_D3_FORMAT,
      categories: table.rows.map((r) => r.label),
      series: names.tool === null ? [names.server] : [names.server, names.tool],
      data: cpu,
    });
  }
  for (const payload of table.payloads) {
    const rows = table.rows.filter((row) => !row.cells.get(payload)?.baseline);
    const data = rows.map((row): BarDatum => {
      const s = row.cells.get(payload);
      const view = s === undefined ? null : efficiencyView(s);
      const e = view?.kind === 'ratio' ? view.ratio : null;
      return {
        category: row.label,
        value: e?.ratio ?? null,
        ciLow: e?.ciLow ?? null,
        ciHigh: e?.ciHigh ?? null,
      };
    });
    charts.push({
      title: efficiencyChartTitle(payload),
      yTitle: 'efficiency vs nginx',
      format: ',.2f',
      categories: rows.map((r) => r.label),
      data,
      rule: 1,
    });
  }
  return charts;
}

/** The efficiency explanation without its label, for the paragraphs that explain intervals. */
const EFFICIENCY_EXPLANATION = `The ${EFFICIENCY_NOTE.replace(/^efficiency: /, 'efficiency to nginx is ')}`;

export interface LineChartDefinition {
  key: 'workers' | 'efficiency' | 'fairness' | 'connections' | 'p99';
  title: string;
  subtitle: string;
  xTitle: string;
  yTitle: string;
  format: string;
  logX: boolean;
  rule?: number;
  series: string[];
  data: LineDatum[];
}

/**
 * The scaling charts of a sweep, as data every exporter draws the same way: throughput against
 * workers with the ideal linear line, efficiency, worker fairness; throughput and p99 against
 * connections. Hollow points are lower bounds (the load tool was saturated there).
 */
export function scalingCharts(results: ResultsFile): LineChartDefinition[] {
  const axes = sweptAxes(results);
  const charts: LineChartDefinition[] = [];
  if (axes.workers && results.scaling.length > 0) charts.push(...workerCharts(results));
  const concurrency = concurrencyCurves(results);
  if (axes.connections && concurrency.length > 0) charts.push(...connectionCharts(concurrency));
  return charts;
}

/** Throughput against workers with the ideal line, parallel efficiency, and fairness. */
function workerCharts(results: ResultsFile): LineChartDefinition[] {
  const charts: LineChartDefinition[] = [];
  const byId = new Map(results.scenarios.map((s) => [s.id, s]));
  const series: string[] = [];
  const data: LineDatum[] = [];
  const efficiency: LineDatum[] = [];
  const fairness: LineDatum[] = [];
  const fairnessSeries: string[] = [];
  for (const curve of results.scaling) {
    const name = curveLabel(curve);
    series.push(name);
    const base = curve.points[0]?.requestsPerSecond ?? null;
    for (const point of curve.points) {
      const rps = byId.get(point.resultId)?.summary?.requestsPerSecond ?? null;
      data.push({
        series: name,
        x: point.workers,
        y: point.requestsPerSecond,
        low: rps?.ciLow ?? null,
        high: rps?.ciHigh ?? null,
        lowerBound: point.lowerBound,
      });
      if (base !== null) {
        data.push({
          series: name,
          x: point.workers,
          y: (base * point.workers) / curve.baseWorkers,
          reference: true,
        });
      }
      efficiency.push({
        series: name,
        x: point.workers,
        y: point.efficiency?.value ?? null,
        low: point.efficiency?.ciLow ?? null,
        high: point.efficiency?.ciHigh ?? null,
        lowerBound: point.lowerBound,
      });
      const jain = byId.get(point.resultId)?.summary?.fairnessConnections ?? null;
      if (jain !== null) {
        if (!fairnessSeries.includes(name)) fairnessSeries.push(name);
        fairness.push({ series: name, x: point.workers, y: jain, lowerBound: point.lowerBound });
      }
    }
  }
  const hollow = 'hollow: the load tool was saturated (a lower bound)';
  charts.push({
    key: 'workers',
    title: 'Served responses/s against workers',
    subtitle: `dashed: linear scaling from the fewest workers; ${hollow}`,
    xTitle: 'Workers',
    yTitle: 'Responses/s',
    format: ',.0f',
    logX: true,
    series,
    data,
  });
  charts.push({
    key: 'efficiency',
    title: 'Parallel efficiency',
    subtitle: 'speedup / (workers / fewest workers); 1 = linear; whiskers: interval of the paired speedup',
    xTitle: 'Workers',
    yTitle: 'Efficiency',
    format: '.2f',
    logX: true,
    rule: 1,
    series,
    data: efficiency,
  });
  if (fairness.length > 0) {
    charts.push({
      key: 'fairness',
      title: "Workers' share of connections (Jain's index)",
      subtitle: '1 = every worker got the same share; 1/n = one worker took all',
      xTitle: 'Workers',
      yTitle: "Jain's index",
      format: '.2f',
      logX: true,
      rule: 1,
      series: fairnessSeries,
      data: fairness,
    });
  }
  return charts;
}

/** Throughput and p99 against connections, a curve per scenario, worker count and accept mode. */
function connectionCharts(concurrency: ConcurrencyCurve[]): LineChartDefinition[] {
  const charts: LineChartDefinition[] = [];
  const series = concurrency.map((c) => c.label);
  const point = (
    c: ConcurrencyCurve,
    pick: (s: ScenarioResult) => StatSummary | null | undefined,
    scale = 1,
  ) =>
    c.points.map((p): LineDatum => {
      const st = pick(p.result) ?? null;
      return {
        series: c.label,
        x: p.connections,
        y: st === null ? null : st.median * scale,
        low: st === null ? null : st.ciLow * scale,
        high: st === null ? null : st.ciHigh * scale,
        lowerBound: isLowerBound(p.result),
      };
    });
  charts.push({
    key: 'connections',
    title: 'Served responses/s against concurrent connections',
    subtitle: 'whiskers: interval of the median; hollow: the load tool was saturated (a lower bound)',
    xTitle: 'Connections',
    yTitle: 'Responses/s',
    format: ',.0f',
    logX: true,
    series,
    data: concurrency.flatMap((c) => point(c, (s) => s.summary?.requestsPerSecond)),
  });
  charts.push({
    key: 'p99',
    title: 'p99 latency against concurrent connections',
    subtitle: 'median over repetitions of each repetition’s p99, with its interval',
    xTitle: 'Connections',
    yTitle: 'p99 (ms)',
    format: ',.2f',
    logX: true,
    series,
    data: concurrency.flatMap((c) => point(c, (s) => s.summary?.latency?.p99Micros, 1 / 1000)),
  });
  return charts;
}

/** What the machine could and could not give a sweep, in words (two cores: one server CPU when pinned). */
export function sweepCaveats(results: ResultsFile): string[] {
  const out: string[] = [];
  const skipped = results.scenarios.filter((s) => s.skipped !== null && s.id !== s.scenarioId);
  if (skipped.length > 0) {
    const reasons = [...new Set(skipped.map((s) => s.skipped!))];
    out.push(
      `${skipped.length} point${skipped.length === 1 ? '' : 's'} could not run here (${skipped.map((s) => s.id).join(', ')}): ${reasons.join('; ')}.`,
    );
  }
  const cpus = new Set(
    results.scenarios.flatMap((s) => (s.point.serverCpus === null ? [] : [s.point.serverCpus.length])),
  );
  const workerSweep = results.plan.sweep.workers.length > 1 || results.plan.sweep.serverCpus !== null;
  if (!workerSweep) {
    // A connection or accept-mode sweep at one worker count: nothing to say about cores.
  } else if (results.topology.pinned || cpus.size > 0) {
    const most = Math.max(0, ...cpus);
    if (most <= 1 && results.environment.logicalCores <= 2) {
      out.push(
        `With split pinning this ${results.environment.logicalCores}-CPU machine gives the server side ${most} CPU: worker counts above it share that CPU, so a curve here shows the cost of more workers, not scaling across cores.`,
      );
    }
  } else if (results.plan.sweep.workers.length > 1) {
    out.push(
      `Unpinned: servers and the load tool share all ${results.environment.logicalCores} CPUs, so at higher worker counts the load tool competes with the server for cores.`,
    );
  }
  for (const curve of results.scaling) {
    if (curve.stopsRisingAt !== null) {
      out.push(
        `${curveLabel(curve)}: throughput stops rising beyond the noise after ${curve.stopsRisingAt} worker${curve.stopsRisingAt === 1 ? '' : 's'}.`,
      );
    }
    const bounds = curve.points.filter((p) => p.lowerBound).map((p) => p.workers);
    if (bounds.length > 0) {
      out.push(
        `${curveLabel(curve)}: at ${bounds.join(', ')} worker(s) the load tool was saturated, so those points are lower bounds (hollow markers), not the server's limit.`,
      );
    }
  }
  return out;
}

/** The other hosts of a run (load and server hosts over ssh), one row each, for every report. */
export const HOST_COLUMNS = [
  'Host',
  'Roles',
  'Address',
  'Hostname',
  'CPU',
  'Cores',
  'Memory (GiB)',
  'Kernel',
  'Node.js',
  'Clock offset (ms)',
  'Load tools',
  'nginx',
] as const;

export function hostRows(results: ResultsFile): string[][] {
  return results.hosts.map((h) => [
    h.name,
    h.roles.join(', '),
    h.address ?? '(unknown)',
    h.hostname,
    h.cpuModel,
    String(h.logicalCores),
    h.memoryBytes === null ? '(unknown)' : (h.memoryBytes / 2 ** 30).toFixed(1),
    h.kernel ?? '(unknown)',
    h.nodeVersion ?? '(unknown)',
    h.clockOffsetMs === null ? '(unknown)' : h.clockOffsetMs.toFixed(1),
    h.tools.flatMap((t) => (t.version === null ? [] : [`${t.name} ${t.version}`])).join('; ') || '(none)',
    h.nginx?.version ?? '(none)',
  ]);
}
