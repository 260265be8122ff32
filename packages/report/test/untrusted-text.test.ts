import type { ResultsFile, ScenarioResult } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { barChartSvg, lineChartSvg } from '../src/charts.ts';
import { buildComparison } from '../src/compare-model.ts';
import { renderComparisonPdf } from '../src/compare-pdf.ts';
import { renderComparisonXlsx } from '../src/compare-xlsx.ts';
import { displayResults } from '../src/display.ts';
import { displayText, LABEL_MAX } from '../src/format.ts';
import { renderHtml } from '../src/html.ts';
import { renderMarkdown } from '../src/markdown.ts';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { buildResults, machineA } from './fixtures/build.ts';

/**
 * Text from a results file is data (issue 19): a label may hold line separators, quotes,
 * backslashes, escape sequences, megabytes; none of it may break, forge or stall any output.
 */

// Raw control characters a terminal or a parser would obey.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** machineA with its first scenario imported under `label`: imported servers show their label in the charts. */
function withLabel(label: string): ResultsFile {
  const results = buildResults(machineA);
  const s = results.scenarios[0]!;
  s.label = label;
  s.server = { kind: 'imported', name: label, workers: null };
  return results;
}

/** The 62 characters from `start` on: a failure shows them, not a whole report. */
function excerpt(text: string, start: string): string {
  const at = text.indexOf(start);
  return at < 0 ? `(no "${start}")` : text.slice(at, at + 62);
}

function manyScenarios(count: number): ResultsFile {
  const results = buildResults(machineA);
  const base = results.scenarios[0]!;
  for (let i = 0; i < count; i++) {
    const s: ScenarioResult = structuredClone(base);
    s.id = `x${i}`;
    s.scenarioId = `x${i}`;
    s.label = `imported server number ${i}`;
    s.server = { kind: 'imported', name: s.label, workers: null };
    results.scenarios.push(s);
  }
  return results;
}

describe('displayText: the one cleaning every output uses', () => {
  it('folds line breaks to a space and shows other control characters escaped', () => {
    expect(displayText('a\r\nb\u2028c\u2029d')).toBe('a b c d');
    expect(displayText('ok\x1b]0;pwned\x07 \x1b[2K\rDONE')).toBe('ok\\x1b]0;pwned\\x07 \\x1b[2K DONE');
    expect(displayText('abc\u202Edcba\u2066x\u0085y\u009b')).toBe('abc\\u202edcba\\u2066x y\\x9b');
    expect(displayText('tab\there "q" \\ back')).toBe('tab\\there "q" \\ back');
    expect(displayText('plain label, 10 kB')).toBe('plain label, 10 kB');
  });

  it('bounds the length, keeps long names apart, never splits a surrogate pair', () => {
    const long = 'y'.repeat(5000);
    const shown = displayText(`${long}1`, LABEL_MAX);
    expect(shown.length).toBeLessThan(LABEL_MAX + 20);
    expect(shown).toMatch(/^y+… #[0-9a-f]{8}$/);
    expect(displayText(`${long}2`, LABEL_MAX)).not.toBe(shown);
    const emoji = displayText(`${'a'.repeat(LABEL_MAX - 1)}😀tail`, LABEL_MAX);
    expect(emoji.startsWith(`${'a'.repeat(LABEL_MAX - 1)}…`)).toBe(true);
  });

  it('cleans every text of a results file, numbers untouched', () => {
    const results = withLabel('a\nb\x1b[31m');
    results.environment.hostname = 'host\r\x1b]2;title\x07';
    const shown = displayResults(results);
    expect(shown.scenarios[0]!.label).toBe('a b\\x1b[31m');
    expect(shown.environment.hostname).toBe('host \\x1b]2;title\\x07');
    expect(shown.scenarios[0]!.summary).toEqual(results.scenarios[0]!.summary);
    expect(JSON.stringify(shown)).not.toMatch(RAW_CONTROLS);
  });
});

describe('a label with line separators, quotes and backslashes', () => {
  const label = 'odd\u2028label\u2029 "quoted" \\back\\slash \'single\'';

  it('every report of the run renders (no "Unexpected token ILLEGAL")', async () => {
    const results = withLabel(label);
    const pdf = await renderPdf(results);
    expect(Buffer.from(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const html = new TextDecoder().decode(await renderHtml(results));
    expect(excerpt(html, '"ci">odd label')).toBe(
      '"ci">odd label &quot;quoted&quot; \\back\\slash &#39;single&#39;',
    );
    expect(/[\u2028\u2029]/.test(html)).toBe(false);
    expect(renderMarkdown(results)).toContain('odd label');
    expect((await renderXlsx(results)).length).toBeGreaterThan(0);
  }, 120_000);

  it('the comparison renders too', async () => {
    const other = buildResults(machineA);
    other.environment.hostname = 'other\u2028host';
    const comparison = buildComparison([
      { path: null, results: withLabel(label) },
      { path: null, results: other },
    ]);
    expect(comparison.runs.map((r) => r.label)).toEqual(['bench-a', 'other host']);
    const pdf = await renderComparisonPdf(comparison);
    expect(Buffer.from(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    expect((await renderComparisonXlsx(comparison)).length).toBeGreaterThan(0);
  }, 120_000);

  it('the chart functions take such names from any caller', async () => {
    const svg = await barChartSvg([{ category: label, value: 1, ciLow: 0.9, ciHigh: 1.1 }], {
      title: 't',
      yTitle: 'y',
      format: '.2f',
      width: 300,
      height: 200,
      categories: [label],
    });
    expect(svg).toContain('<svg');
    const line = await lineChartSvg(
      [
        { series: label, x: 1, y: 1 },
        { series: label, x: 2, y: 2 },
      ],
      { title: 't', xTitle: 'x', yTitle: 'y', format: '.2f', width: 300, height: 200, series: [label] },
    );
    expect(line).toContain('<svg');
  });
});

describe('sizes a file may have: display lengths bounded, time linear', () => {
  // Generous bounds: they catch a hang or a quadratic blow-up, never a slow machine.
  it('a label of thousands of characters, and one of a few megabytes', async () => {
    for (const size of [5_000, 3_000_000]) {
      const results = withLabel(`${'word '.repeat(size / 5)}end`);
      const pdf = await renderPdf(results);
      expect(pdf.length).toBeLessThan(2_000_000);
      const html = new TextDecoder().decode(await renderHtml(results));
      // The full label stays in results.json; the page shows it bounded.
      expect(html.length).toBeLessThan(2_000_000);
      expect(/word ?… #[0-9a-f]{8}/.test(html)).toBe(true);
    }
  }, 240_000);

  it('thousands of categories in one chart: no stack overflow in the expressions', async () => {
    const categories = Array.from({ length: 2500 }, (_, i) => `server ${i}`);
    const svg = await barChartSvg(
      categories.map((category, i) => ({ category, value: i, ciLow: i, ciHigh: i + 1 })),
      { title: 't', yTitle: 'y', format: ',.0f', width: 800, height: 300, categories },
    );
    expect(svg).toContain('server 2499');
    const series = categories.slice(0, 600);
    const line = await lineChartSvg(
      series.flatMap((name, i) => [
        { series: name, x: 1, y: i },
        { series: name, x: 2, y: i + 1 },
      ]),
      { title: 't', xTitle: 'x', yTitle: 'y', format: ',.0f', width: 800, height: 300, series },
    );
    expect(line).toContain('<svg');
  }, 240_000);

  it('hundreds of scenarios: the pdf and the page render', async () => {
    const results = manyScenarios(300);
    const pdf = await renderPdf(results);
    expect(Buffer.from(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const html = new TextDecoder().decode(await renderHtml(results));
    expect(html).toContain('imported server number 299');
  }, 300_000);
});
