import type { ResultsFile, ScenarioResult } from '@scaleup/core';
import {
  displayResults,
  EFFICIENCY_NOTE,
  efficiencyView,
  hasCosts,
  LOWER_BOUND_NOTE,
  p99View,
  quotaNote,
  type RatioView,
  ratioView,
  rpsView,
  serverCpuView,
  validText,
} from './display.ts';
import type { Exporter, RenderContext } from './exporter.ts';
import { COST_DIGITS, fmt, type IntervalEstimate, intervalParts } from './format.ts';
import { capacityRows, keptUpText, latencyPointRows } from './latency.ts';
import { concerns, hasShortIntervals, payloadLabel } from './model.ts';
import type { ProfileFiles } from './profile-files.ts';
import { PROFILE_NOTE, pct, profileContent, SHARE_CLASSES, topText, whoText } from './profile-view.ts';

/**
 * results.md: a compact summary to paste into an issue, a pull request or a README, the way
 * hyperfine's --export-markdown does: who measured what on which machine in a few header
 * lines, one table of every scenario, then the warnings. Nothing in it comes from the clock.
 */

/**
 * Text from results.json as inline Markdown that renders as itself: characters that would start
 * emphasis, code, links or HTML are backslash-escaped (with `|`, so it also fits a table cell);
 * intraword underscores are left alone, as Markdown leaves them.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/[\\`*[\]<|~]/g, (c) => `\\${c}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/&(?=#?\w+;)/g, '\\&');
}

/** Inline text at the start of a line (a bullet, a paragraph): nor may it start a block. */
function escapeLine(text: string): string {
  return escapeMarkdown(text)
    .replace(/^([#>+=-])/, '\\$1')
    .replace(/^(\d+)([.)])/, '$1\\$2');
}

/** A table cell: inline text, `|` escaped. */
function cell(text: string): string {
  return escapeMarkdown(text.trim());
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A table column of its own, so no brackets: "1,000 – 2,000 (95.3%)". */
function interval(estimate: IntervalEstimate, digits: number): string {
  const { range, confidence } = intervalParts(estimate, digits);
  return `${range} (${confidence})`;
}

/** "baseline", "–", or the figure; and its interval column, with the note on unpaired rounds. */
function ratioCells(r: RatioView): [string, string] {
  return [
    r.kind === 'baseline' ? 'baseline' : r.kind === 'none' ? '–' : r.figure,
    r.kind === 'ratio' ? `${interval(r.ratio, 3)}${r.note === null ? '' : `, ${r.note}`}` : '',
  ];
}

/** Server CPU per response and the efficiency to nginx, each with its interval column. */
function costCells(s: ScenarioResult): string[] {
  if (s.skipped !== null) return ['', '', '', ''];
  const cpu = serverCpuView(s);
  return [
    cpu === null ? '–' : cpu.figure,
    cpu === null ? '' : interval(cpu.stat, COST_DIGITS),
    ...ratioCells(efficiencyView(s)),
  ];
}

function scenarioCells(s: ScenarioResult, costs: boolean): string[] {
  const name = `${s.id} ${s.label}`;
  const payload = payloadLabel(s.payloadBytes);
  const cost = costs ? costCells(s) : [];
  if (s.skipped !== null) return [name, payload, 'skipped', '', '', '', ...cost, '', '–'];
  const rps = rpsView(s);
  return [
    name,
    payload,
    rps === null ? '–' : rps.figure,
    rps === null ? '' : interval(rps.stat, 0),
    ...ratioCells(ratioView(s)),
    ...cost,
    p99View(s)?.text ?? '–',
    validText(s, true),
  ];
}

function machineLine(results: ResultsFile): string {
  const e = results.environment;
  const cores =
    e.physicalCores === null
      ? `${e.logicalCores} logical cores`
      : `${e.physicalCores} physical / ${e.logicalCores} logical cores`;
  return [
    e.hostname,
    e.cpuModel,
    cores,
    ...(e.memoryBytes === null ? [] : [`${(e.memoryBytes / 2 ** 30).toFixed(1)} GiB`]),
    ...(e.kernel === null ? [] : [e.kernel]),
    ...(e.virtualisation === null || e.virtualisation === 'none'
      ? []
      : [`virtualised (${e.virtualisation})`]),
    ...(e.nodeVersion === null ? [] : [`Node.js ${e.nodeVersion}`]),
  ].join(', ');
}

function protocolLine(results: ResultsFile): string {
  const p = results.plan;
  const load =
    p.durationSeconds !== null
      ? `${p.durationSeconds} s per repetition`
      : `${fmt(p.requests)} requests per repetition`;
  const rounds =
    results.stopping.length > 0 ? results.stopping.map((g) => g.rounds).join('/') : String(p.repetitions);
  const adaptive =
    p.adaptive === null
      ? ''
      : ` (adaptive: up to ${p.adaptive.maxRepetitions}, target ±${p.adaptive.targetCiPercent}%)`;
  return [
    p.tool,
    `${p.sweep.connections.join(',')} connections${p.baselineConnections !== null ? ` (nginx: ${p.baselineConnections})` : ''}`,
    load,
    `${p.threads} client thread${p.threads === 1 ? '' : 's'}`,
    `${rounds} round${rounds === '1' ? '' : 's'}${adaptive}`,
    `${p.warmupRuns} warm-up run${p.warmupRuns === 1 ? '' : 's'} of ${p.warmupSeconds} s`,
    p.keepAlive ? 'keep-alive' : 'no keep-alive',
    results.topology.pinned ? `pinned (${results.topology.description})` : 'unpinned',
    ...(p.sweep.workers.length > 1 ? [`workers ${p.sweep.workers.join(',')}`] : []),
  ].join(', ');
}

function nginxLine(results: ResultsFile): string {
  const presets = new Set<string>();
  for (const s of results.scenarios) {
    if (s.server.kind === 'nginx') {
      presets.add(
        `${s.server.preset} preset${s.server.version ? `, nginx ${s.server.version}` : ''}, ${s.server.workers} worker${s.server.workers === 1 ? '' : 's'}`,
      );
    } else if (s.baseline) {
      // An imported or custom baseline is known only by what its manifest or suite calls it.
      presets.add(s.server.kind === 'imported' ? s.server.name : s.label);
    }
  }
  return presets.size === 0 ? 'none in this run' : [...presets].join('; ');
}

/** The breakdown of every profile, one row each, and the profiles asked for and missing. */
function profileLines(results: ResultsFile, files: ProfileFiles | undefined): string[] {
  const content = profileContent(results, files);
  if (content === null) return [];
  const { rows, table, problems } = content;
  const lines = ['**Where the CPU goes**', ''];
  if (rows.length > 0) {
    lines.push(
      row(['Scenario', 'Samples', ...SHARE_CLASSES.map(([label]) => label), 'Top self', 'Top total']),
      row([':---', '---:', '---:', '---:', '---:', '---:', ':---', ':---']),
    );
    for (const r of table) {
      lines.push(
        row(
          [
            `${r.scenario.id} ${whoText(r)}`,
            fmt(r.samples),
            ...SHARE_CLASSES.map(([, key]) => pct(r.breakdown[key])),
            topText(r.breakdown.topSelf, 'self', 3).join('; '),
            topText(r.breakdown.topTotal, 'total', 3).join('; '),
          ].map(cell),
        ),
      );
    }
    lines.push('', escapeLine(PROFILE_NOTE));
  }
  for (const problem of problems) lines.push(`- ${escapeLine(problem)}`);
  lines.push('');
  return lines;
}

/** An open-loop rate sweep's capacity at each objective and every rate step; none closed loop. */
function latencyLines(results: ResultsFile): string[] {
  const points = latencyPointRows(results);
  if (points.length === 0) return [];
  const lines: string[] = [];
  const capacities = capacityRows(results);
  if (capacities.length > 0) {
    lines.push(
      '**Capacity at each latency objective** (responses/s offered)',
      '',
      row(['Server', 'Payload', 'Objective', 'Capacity', 'Interval', 'vs nginx', 'Interval']),
      row([':---', '---:', ':---', '---:', ':---', '---:', ':---']),
      ...capacities.map((r) =>
        row(
          [
            `${r.scenarioId} ${r.server}`,
            payloadLabel(r.payloadBytes),
            r.slo,
            r.figure,
            r.interval || r.censoredText,
            r.ratioFigure,
            r.ratioInterval,
          ].map(cell),
        ),
      ),
      '',
      escapeLine(
        '< : below the lowest rate step measured; ≥ : held at the highest rate step, so the capacity is at least that.',
      ),
      '',
    );
  }
  const ms = (micros: number | undefined, mark: string) =>
    micros === undefined ? '–' : `${mark}${fmt(micros / 1000, 2)}`;
  lines.push(
    '**Latency under a constant offered load** (ms, median over repetitions)',
    '',
    row([
      'Server',
      'Payload',
      'Step',
      'Offered/s',
      'Achieved/s',
      'Kept up',
      'p50',
      'p90',
      'p99',
      'p99.9',
      'max',
    ]),
    row([':---', '---:', ':---', '---:', '---:', ':---', '---:', '---:', '---:', '---:', '---:']),
    ...points.map((r) =>
      row(
        [
          `${r.scenarioId} ${r.server}`,
          payloadLabel(r.payloadBytes),
          r.point.rateStep,
          fmt(r.point.offeredPerSecond),
          fmt(r.point.achievedPerSecond?.median),
          keptUpText(r.point),
          ...r.percentiles.map((st) => ms(st?.median, r.mark)),
        ].map(cell),
      ),
    ),
    '',
  );
  return lines;
}

export function renderMarkdown(input: ResultsFile, context: RenderContext = {}): string {
  const results = displayResults(input);
  const lines: string[] = [];
  lines.push(`# scaleup: ${escapeMarkdown(results.environment.hostname)}`, '');
  const header: [string, string][] = [
    ['Machine', machineLine(results)],
    ['Protocol', protocolLine(results)],
    ['nginx', nginxLine(results)],
    [
      'Run',
      `${results.run.id}, ${results.run.startedAt} to ${results.run.finishedAt ?? '(not finished)'}, suite ${results.run.suite}, profile ${results.run.profile}, scaleup ${results.run.scaleupVersion}${results.complete ? '' : ', INCOMPLETE'}`,
    ],
  ];
  // Two trailing spaces: a line break inside one paragraph, as hyperfine-style headers read.
  lines.push(header.map(([k, v]) => `**${k}:** ${escapeMarkdown(v)}`).join('  \n'), '');
  const costs = hasCosts(results);
  const costHeader = costs ? ['Server CPU µs/response', 'Interval', 'Efficiency vs nginx', 'Interval'] : [];
  lines.push(
    row([
      'Scenario',
      'Payload',
      'Responses/s',
      'Interval',
      'vs nginx',
      'Interval',
      ...costHeader,
      'p99 (ms)',
      'Valid',
    ]),
    row([
      ':---',
      '---:',
      '---:',
      ':---',
      '---:',
      ':---',
      ...(costs ? ['---:', ':---', '---:', ':---'] : []),
      '---:',
      '---:',
    ]),
  );
  for (const s of results.scenarios) lines.push(row(scenarioCells(s, costs).map(cell)));
  lines.push('');
  const target = Math.round(results.plan.confidenceTarget * 100);
  const notes = [
    `Medians over valid repetitions. Intervals: distribution-free order-statistic intervals of the median, with the confidence each really reaches (${target}% asked). vs nginx: median over rounds of server / nginx in the same round.`,
    `≥: ${LOWER_BOUND_NOTE}.`,
    ...[quotaNote(results)].filter((note) => note !== null),
    ...(costs ? [`Efficiency vs ${EFFICIENCY_NOTE.replace(/^efficiency: /, 'nginx: ')}.`] : []),
  ];
  if (hasShortIntervals(results)) {
    notes.push(`*: short of ${target}%, too few valid repetitions for that level.`);
  }
  lines.push(escapeLine(notes.join(' ')), '');
  lines.push(...latencyLines(results));
  lines.push(...profileLines(results, context.profiles));
  const warnings = concerns(results);
  lines.push('**Warnings**', '');
  if (warnings.length === 0) lines.push('None.');
  for (const c of warnings) lines.push(`- ${escapeLine(c.scenario ? `${c.scenario}: ${c.text}` : c.text)}`);
  return `${lines.join('\n')}\n`;
}

export const markdownExporter: Exporter = {
  name: 'md',
  extension: '.md',
  render: async (results, context) => new TextEncoder().encode(renderMarkdown(results, context)),
};
