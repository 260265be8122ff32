import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, type ResultsFile } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { confidenceText, fmt } from '../src/format.ts';
import { escapeMarkdown, markdownExporter, renderMarkdown } from '../src/markdown.ts';
import { concerns, payloadLabel } from '../src/model.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { fixturesDir } from './fixtures/files.ts';

const results = buildResults(machineA);
const workers = parseResults(readFileSync(join(fixturesDir, 'sweep-workers.json'), 'utf8'));
const connections = parseResults(readFileSync(join(fixturesDir, 'sweep-connections.json'), 'utf8'));

const HEADER = [
  'Scenario',
  'Payload',
  'Responses/s',
  'Interval',
  'vs nginx',
  'Interval',
  'p99 (ms)',
  'Valid',
];

/** The GFM table: consecutive lines starting with `|`, split on unescaped pipes, unescaped. */
function parseTable(markdown: string): { header: string[]; align: string[]; rows: string[][] } {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  expect(start).toBeGreaterThan(0);
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  const table = lines.slice(start, end);
  // A table needs a blank line before it, or it continues the paragraph above.
  expect(lines[start - 1]).toBe('');
  const cells = (line: string) => {
    expect(line).toMatch(/^\| .* \|$/);
    return line
      .slice(2, -2)
      .split(/ (?<!\\)\| /)
      .map((c) => c.replace(/\\(.)/g, '$1'));
  };
  const [header, align, ...rows] = table.map(cells);
  return { header: header!, align: align!, rows };
}

describe('results.md', () => {
  it('opens with the machine, the protocol and the nginx preset, hyperfine-style', () => {
    const md = renderMarkdown(results);
    const head = md.slice(0, md.indexOf('\n|'));
    expect(head).toMatch(/^# scaleup: bench-a\n\n/);
    expect(head).toContain(
      '**Machine:** bench-a, Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz, 2 physical / 2 logical cores',
    );
    expect(head).toContain(
      '**Protocol:** wrk, 128 connections, 5 s per repetition, 1 client thread, 5 rounds, 1 warm-up run of 3 s, keep-alive, pinned',
    );
    expect(head).toContain('**nginx:** tuned preset, nginx 1.22.1, 1 worker');
    expect(head).toContain(
      '**Run:** 2026-11-26T10-00-00Z-seed, 2026-11-26T10:00:00.000Z to 2026-11-26T10:06:12.345Z',
    );
    // One paragraph of lines joined by hard breaks (two trailing spaces).
    expect(head.match(/ {2}\n\*\*/g)).toHaveLength(3);
    const byRequests = structuredClone(results);
    byRequests.plan.durationSeconds = null;
    byRequests.plan.requests = 1_000_000;
    byRequests.plan.threads = 4;
    expect(renderMarkdown(byRequests)).toContain(
      'wrk, 128 connections, 1,000,000 requests per repetition, 4 client threads',
    );
  });

  it('parses as one table with every scenario: median, interval, ratio to nginx, p99, valid reps', () => {
    const { header, align, rows } = parseTable(renderMarkdown(results));
    expect(header).toEqual(HEADER);
    expect(align).toEqual([':---', '---:', '---:', ':---', '---:', ':---', '---:', '---:']);
    expect(rows).toHaveLength(results.scenarios.length);
    for (const [i, s] of results.scenarios.entries()) {
      const row = rows[i]!;
      expect(row).toHaveLength(HEADER.length);
      expect(row[0]).toBe(`${s.id} ${s.label}`);
      expect(row[1]).toBe(payloadLabel(s.payloadBytes));
      if (s.skipped !== null) {
        expect(row.slice(2)).toEqual(['skipped', '', '', '', '', '–']);
        continue;
      }
      const rps = s.summary!.requestsPerSecond!;
      expect(row[2]).toBe(fmt(rps.median));
      expect(row[3]).toBe(`${fmt(rps.ciLow)} – ${fmt(rps.ciHigh)} (${confidenceText(rps)})`);
      const r = s.summary!.ratioToBaseline;
      if (s.baseline) {
        expect(row.slice(4, 6)).toEqual(['baseline', '']);
      } else {
        expect(row[4]).toBe(fmt(r!.ratio, 3));
        expect(row[5]).toBe(`${fmt(r!.ciLow, 3)} – ${fmt(r!.ciHigh, 3)} (${confidenceText(r!)})`);
      }
      expect(row[6]).toBe(fmt(s.summary!.latency!.p99Micros!.median / 1000, 2));
      expect(row[7]).toBe(`${s.summary!.validRepetitions}/${s.repetitions.length}`);
    }
    // 1b had an invalid round: 4 of its 5 count.
    expect(rows.find((r) => r[0]!.startsWith('1b '))![7]).toBe('4/5');
  });

  it('sweeps list every point; lower bounds carry ≥', () => {
    for (const run of [workers, connections]) {
      const { rows } = parseTable(renderMarkdown(run));
      expect(rows.map((r) => r[0])).toEqual(run.scenarios.map((s) => `${s.id} ${s.label}`));
    }
    const bounded = structuredClone(results);
    const s = bounded.scenarios.find((x) => x.id === '2a')!;
    s.summary!.lowerBound = true;
    const row = parseTable(renderMarkdown(bounded)).rows.find((r) => r[0]!.startsWith('2a '))!;
    expect(row[2]).toBe(`≥ ${fmt(s.summary!.requestsPerSecond!.median)}`);
    expect(row[4]).toBe(`≥ ${fmt(s.summary!.ratioToBaseline!.ratio, 3)}`);
  });

  it('ends with the * footnote and every warning as a bullet', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('\\*: short of 95%, too few valid repetitions for that level.');
    const warnings = md.slice(md.indexOf('**Warnings**'));
    const bullets = warnings.split('\n').filter((l) => l.startsWith('- '));
    expect(bullets).toEqual(
      concerns(results).map((c) => `- ${escapeMarkdown(c.scenario ? `${c.scenario}: ${c.text}` : c.text)}`),
    );
    expect(bullets).toContain('- 1b: Round 2 invalid: 1523 responses failed (5xx)');
    expect(bullets).toContain(
      '- Tuning: open files (soft) is 1024 (recommended >= 8192); caps client connections at about 500. Fix: ulimit -n 20000',
    );
    expect(md.endsWith('\n')).toBe(true);
    expect(md).not.toMatch(/\n\n\n/);
  });

  it('escapes what would break the table or the Markdown', () => {
    const hostile: ResultsFile = structuredClone(results);
    hostile.environment.hostname = 'bench|a *b* _c_ <d>';
    hostile.scenarios[0]!.label = 'pipe | in a label\nand a newline';
    hostile.warnings = ['# not a heading', '1. not a list', '*not emphasis*'];
    const md = renderMarkdown(hostile);
    expect(md).toContain('# scaleup: bench\\|a \\*b\\* \\_c\\_ \\<d>\n');
    const { rows } = parseTable(md);
    expect(rows).toHaveLength(results.scenarios.length);
    for (const row of rows) expect(row).toHaveLength(HEADER.length);
    expect(rows[0]![0]).toBe('1a pipe | in a label and a newline');
    expect(md).toContain('| 1a pipe \\| in a label and a newline |');
    expect(md).toContain('- \\# not a heading\n- 1\\. not a list\n- \\*not emphasis\\*\n');
    // Intraword underscores stay as they are: Markdown does not read them as emphasis.
    expect(escapeMarkdown('net.ipv4.tcp_tw_reuse')).toBe('net.ipv4.tcp_tw_reuse');
  });

  it('is a pure function of results.json: the same bytes, no date but the run’s own', async () => {
    const bytes = await markdownExporter.render(results);
    expect(Buffer.from(bytes).equals(Buffer.from(await markdownExporter.render(results)))).toBe(true);
    expect(markdownExporter.extension).toBe('.md');
    const text = Buffer.from(bytes).toString('utf8');
    const dates = text.match(/\d{4}-\d\d-\d\dT[\w:.-]+/g) ?? [];
    expect(dates.length).toBeGreaterThan(0);
    for (const date of dates)
      expect([results.run.id, results.run.startedAt, results.run.finishedAt]).toContain(date);
  });
});
