import { latencyCurves, parseResults, type ResultsFile, serializeResults } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import { comparedLatency } from '../src/compare-latency.ts';
import { buildComparison } from '../src/compare-model.ts';
import { renderComparisonPdf } from '../src/compare-pdf.ts';
import { renderComparisonXlsx } from '../src/compare-xlsx.ts';
import { renderHtml } from '../src/html.ts';
import {
  capacityRows,
  latencyGroups,
  latencyPointRows,
  spectrumCaption,
  spectrumStep,
} from '../src/latency.ts';
import { renderMarkdown } from '../src/markdown.ts';
import { renderPdf } from '../src/pdf.ts';
import { renderXlsx } from '../src/xlsx.ts';
import { CAPACITY_SHEET, LATENCY_CURVES_SHEET, SPECTRUM_SHEET } from '../src/xlsx-latency.ts';
import { buildResults, machineA, machineB } from './fixtures/build.ts';
import { hasCommand } from './fixtures/files.ts';
import { buildRateSweep, RATE_STEPS, SLOS } from './fixtures/latency.ts';
import { chartObjectsOf } from './fixtures/libreoffice.ts';
import { pdfText } from './fixtures/poppler.ts';

const poppler = hasCommand('pdftotext');
const soffice = hasCommand('soffice');
// Through the schema, as every report reads a results file.
const sweep = parseResults(serializeResults(buildRateSweep()));
const closed = buildResults(machineA);
const HOSTILE = '<script>alert("x")</script> *bold* | pipe';

function withHostileLabel(results: ResultsFile): ResultsFile {
  const copy = structuredClone(results);
  const curve = copy.latencyCurves.find((c) => c.scenarioId === '2a')!;
  curve.label = HOSTILE;
  return copy;
}

async function workbook(bytes: Uint8Array) {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  return book;
}

const chartParts = (bytes: Uint8Array) =>
  Object.entries(unzipSync(bytes))
    .filter(([name]) => /^xl\/charts\/chart\d+\.xml$/.test(name))
    .map(([, data]) => strFromU8(data));

describe('the latency model of a rate sweep', () => {
  it('groups curves per payload, our servers first and nginx last, each point with its percentiles', () => {
    const groups = latencyGroups(sweep);
    expect(groups.map((g) => g.payloadBytes)).toEqual([40, 10000]);
    expect(groups[0]!.servers.map((s) => s.curve.scenarioId)).toEqual(['2a', '2b', 'nginx-2']);
    expect(groups[1]!.servers.map((s) => s.curve.scenarioId)).toEqual(['1a', 'nginx-1']);
    // Three lines per server and step, p99 with its interval, in ms.
    const g = groups[0]!;
    expect(g.curveData).toHaveLength(3 * 3 * RATE_STEPS.length);
    const p99 = g.curveData.find((d) => d.series === 'nginx' && d.line === 'p99' && d.rateStep === '100%')!;
    const point = sweep.latencyCurves.find((c) => c.scenarioId === 'nginx-2')!.points[4]!;
    expect(p99.y).toBe(point.latency!.p99Micros!.median / 1000);
    expect(p99.x).toBe(point.offeredPerSecond);
    expect(p99.behind).toBe(true);
    const rows = latencyPointRows(sweep);
    expect(rows).toHaveLength(5 * RATE_STEPS.length);
    expect(rows[0]!.percentiles.map((st) => st !== null)).toEqual([true, true, true, true, true]);
    expect(rows[0]!.mark).toBe('');
    // Merged from load hosts without histograms: the percentiles are upper bounds, marked ≤.
    const merged = structuredClone(sweep);
    merged.latencyCurves[2]!.points[0]!.latency!.upperBound = true;
    expect(latencyPointRows(merged)[0]!.mark).toBe('≤ ');
    expect(renderMarkdown(merged)).toMatch(
      /\| 2a scaleup fixed resource \| 40 bytes \| 25% \| [\d,]+ \| [\d,]+ \| yes \| ≤ 0\.\d\d \|/,
    );
  });

  it('shows the spectrum at the highest step every server kept up with, else the lowest, and says which', () => {
    const groups = latencyGroups(sweep);
    expect(groups.map((g) => g.spectrum?.rateStep)).toEqual(['90%', '90%']);
    expect(groups[0]!.spectrumTitle).toBe('Latency by percentile, 40 bytes payload, at 90%');
    expect(spectrumCaption(groups[0]!)).toContain(
      'at rate step 90%: the highest step at which every server of the group kept up',
    );
    // The spectrum runs on 1/(1-p): 99% at 100, the maximum left to the tables.
    const nginx = groups[0]!.spectrumData.filter((d) => d.series === 'nginx');
    expect(nginx.find((d) => d.percentile === 99)!.x).toBeCloseTo(100, 6);
    expect(nginx.some((d) => d.percentile === 100)).toBe(false);

    const curves = structuredClone(sweep.latencyCurves.filter((c) => c.payloadBytes === 40));
    curves[1]!.points[3]!.keptUp = false; // 2b falls behind at 90%
    expect(spectrumStep(curves)?.rateStep).toBe('75%');
    for (const p of curves[1]!.points) p.keptUp = false; // 2b never keeps up
    expect(spectrumStep(curves)).toMatchObject({ rateStep: '25%', reason: 'lowest' });
    expect(spectrumStep(curves)!.caption).toContain('the lowest');
    for (const c of curves) for (const p of c.points) p.spectrum = null;
    expect(spectrumStep(curves)).toBeNull();
  });

  it('capacity rows: bracketed with interval and ratio, censored below the lowest or at the highest step', () => {
    const rows = capacityRows(sweep);
    expect(rows).toHaveLength(5 * 2);
    const row = (id: string, slo: string) => rows.find((r) => r.scenarioId === id && r.slo === slo)!;
    const bracketed = row('1a', 'p99=1ms');
    expect(bracketed.figure).toBe('11,000');
    expect(bracketed.interval).toBe('[11,000 – 16,500] 93.7%*');
    expect(bracketed.censoredText).toBe('');
    expect(bracketed.ratioFigure).toBe('0.579');
    expect(bracketed.ratioInterval).toMatch(/^\[0\.538 – 0\.625\] 93\.7%\*$/);
    const below = row('2b', 'p99=1ms');
    expect(below.figure).toBe('< 5,000');
    expect(below.censoredText).toContain('below the lowest rate step');
    // Below our lowest step (5,000/s) against nginx's 30,000/s: less than a sixth, not 0.
    expect(below.ratioFigure).toBe('< 0.167');
    expect(below.ratioInterval).toBe('(below our lowest step)');
    const above = row('nginx-2', 'p99=10ms');
    expect(above.figure).toBe('≥ 40,000');
    expect(above.censoredText).toContain('held at the highest rate step');
    expect(above.ratioFigure).toBe('baseline');
  });

  // Regression: the p99 points' fill channel hid its legend while the colour channel, on the same
  // field, showed one; vega-lite merged them and warned 'Conflicting legend property "disable"'
  // on stderr, twice per report format, in every bench run with rates.
  it('draws every chart of the report without a vega-lite warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await renderHtml(sweep);
      expect(warn.mock.calls.map((call) => call.join(' '))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('capacity ratios with a censored side are bounds, marked on the side they leave open', () => {
    const capacityOf = (results: ResultsFile, id: string, slo: string) =>
      results.latencyCurves.find((c) => c.scenarioId === id)!.capacityAtSlo.find((c) => c.slo.text === slo)!;
    const ratioOf = (results: ResultsFile) => {
      const row = capacityRows(results).find((r) => r.scenarioId === '1a' && r.slo === 'p99=1ms')!;
      return [row.ratioFigure, row.ratioInterval];
    };
    const oursHeld = structuredClone(sweep);
    capacityOf(oursHeld, '1a', 'p99=1ms').censored = 'at-highest';
    expect(ratioOf(oursHeld)).toEqual(['≥ 0.579', expect.stringMatching(/\(a capacity is censored\)$/)]);
    const theirsHeld = structuredClone(sweep);
    capacityOf(theirsHeld, 'nginx-1', 'p99=1ms').censored = 'at-highest';
    expect(ratioOf(theirsHeld)[0]).toBe('≤ 0.579');
    const bothHeld = structuredClone(theirsHeld);
    capacityOf(bothHeld, '1a', 'p99=1ms').censored = 'at-highest';
    expect(ratioOf(bothHeld)).toEqual(['–', '']);
    // nginx broke the objective at its lowest step: ours over that step is a floor, strictly.
    const theirsBelow = structuredClone(sweep);
    const nginx = theirsBelow.latencyCurves.find((c) => c.scenarioId === 'nginx-1')!;
    capacityOf(theirsBelow, 'nginx-1', 'p99=1ms').censored = 'below-lowest';
    const ours = capacityOf(theirsBelow, '1a', 'p99=1ms').ratePerSecond!.value;
    const lowest = nginx.points[0]!.offeredPerSecond!;
    expect(ratioOf(theirsBelow)).toEqual([
      `> ${(ours / lowest).toFixed(3)}`,
      "(below the baseline's lowest step)",
    ]);
  });

  it('reads the curves core derives from the repetitions: without histograms, curves but no spectra', async () => {
    const derived = {
      ...sweep,
      latencyCurves: latencyCurves(sweep.scenarios, SLOS, sweep.plan.confidenceTarget),
    };
    const groups = latencyGroups(derived);
    expect(groups.map((g) => g.servers.length)).toEqual([3, 2]);
    expect(groups.every((g) => g.spectrum === null && g.spectrumData.length === 0)).toBe(true);
    const rows = capacityRows(derived);
    expect(rows).toHaveLength(10);
    expect(rows.find((r) => r.scenarioId === '2b' && r.slo === 'p99=1ms')!.figure).toBe('< 5,000');
    expect(rows.find((r) => r.scenarioId === 'nginx-2' && r.slo === 'p99=10ms')!.figure).toBe('≥ 40,000');
    const page = Buffer.from(await renderHtml(derived)).toString('utf8');
    const section = page.slice(page.indexOf('<section id="latency"'));
    expect(section.slice(0, section.indexOf('</section>')).match(/<figure class="chart"/g)).toHaveLength(2);
  });

  it('a closed-loop run has no latency curves: no groups, no rows', () => {
    expect(latencyGroups(closed)).toEqual([]);
    expect(capacityRows(closed)).toEqual([]);
    expect(latencyPointRows(closed)).toEqual([]);
  });
});

describe('the reports of a rate sweep', () => {
  it('html: per group the curve and the spectrum charts, the capacity and step tables, labels escaped', async () => {
    const page = Buffer.from(await renderHtml(withHostileLabel(sweep))).toString('utf8');
    const section = page.slice(
      page.indexOf('<section id="latency"'),
      page.indexOf('</section>', page.indexOf('<section id="latency"')),
    );
    expect(section).not.toBe('');
    expect(section.match(/<figure class="chart"/g)).toHaveLength(4);
    expect(section).toContain('aria-label="Latency against offered load, 40 bytes payload"');
    expect(section).toContain('aria-label="Latency by percentile, 10 kB payload, at 90%"');
    expect(section).toContain(
      '<figcaption class="note">10 kB payload: spectrum at rate step 90%: the highest step at which every server of the group kept up',
    );
    // The spectrum's percentile axis and the log latency axis.
    for (const label of ['>50%<', '>99%<', '>99.9%<']) expect(section).toContain(label);
    expect(section).toContain('id="capacity-table"');
    expect(section).toContain('id="latency-table"');
    expect(section).toContain('≥ 40,000');
    expect(section).toContain('&lt; 5,000');
    expect(page).not.toContain('<script>alert');
    expect(section).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('<a href="#latency">');
  });

  it('html of a closed-loop run has no latency section', async () => {
    const page = Buffer.from(await renderHtml(closed)).toString('utf8');
    expect(page).not.toContain('id="latency"');
    expect(page).not.toContain('Latency under');
  });

  it.skipIf(!poppler)('pdf: the latency pages with both charts per group and the tables', async () => {
    const text = pdfText(await renderPdf(sweep));
    expect(text).toContain('Latency under a constant offered load');
    expect(text).toContain('40 bytes payload: spectrum at rate step 90%');
    expect(text).toContain('Latency by percentile, 10 kB payload');
    expect(text).toContain('Capacity at each latency objective');
    expect(text).toContain('< 5,000');
    expect(text).toContain('≥ 40,000');
    expect(text).toContain('99.9%');
    const plain = pdfText(await renderPdf(closed));
    expect(plain).not.toContain('Latency under a constant offered load');
  });

  it('xlsx: the step, spectrum and capacity sheets, and native scatter charts on log axes', async () => {
    const bytes = await renderXlsx(sweep);
    const book = await workbook(bytes);
    const steps = book.getWorksheet(LATENCY_CURVES_SHEET)!;
    const header = steps.getRow(1).values as unknown[];
    expect(header).toEqual(
      expect.arrayContaining([
        'Server',
        'Rate step',
        'Offered responses/s',
        'Achieved responses/s',
        'p50 (ms)',
        'p90 (ms)',
        'p99 (ms)',
        'p99.9 (ms)',
        'max (ms)',
      ]),
    );
    expect(steps.rowCount).toBe(1 + 5 * RATE_STEPS.length);
    const col = (title: string) => (header as string[]).indexOf(title);
    const first = latencyPointRows(sweep)[0]!;
    expect(steps.getCell(2, col('Offered responses/s')).value).toBe(first.point.offeredPerSecond);
    expect(steps.getCell(2, col('p99 (ms)')).value).toBe(first.point.latency!.p99Micros!.median / 1000);
    expect(book.getWorksheet(SPECTRUM_SHEET)!.rowCount).toBeGreaterThan(1);
    const capacity = book.getWorksheet(CAPACITY_SHEET)!;
    expect(capacity.rowCount).toBe(1 + 10);
    const shown = capacity.getColumn(6).values as unknown[];
    expect(shown).toEqual(expect.arrayContaining(['< 5,000', '≥ 40,000', '11,000']));

    const scatter = chartParts(bytes).filter((xml) => xml.includes('<c:scatterChart>'));
    expect(scatter).toHaveLength(4);
    for (const xml of scatter) {
      expect(xml).toContain('<c:logBase val="10"/>');
      expect(xml).toMatch(
        /<c:xVal><c:numRef><c:f>'Latency (curves|spectrum)'!\$[A-Z]+\$\d+:\$[A-Z]+\$\d+<\/c:f>/,
      );
    }
    // The curve charts: p99, p50 and p99.9 per server; the spectra one series per server.
    expect(scatter.map((xml) => xml.match(/<c:ser>/g)!.length).sort()).toEqual([2, 3, 6, 9]);
    const closedParts = chartParts(await renderXlsx(closed));
    expect(closedParts.some((xml) => xml.includes('<c:scatterChart>'))).toBe(false);
    expect((await workbook(await renderXlsx(closed))).getWorksheet(LATENCY_CURVES_SHEET)).toBeUndefined();
  });

  it.skipIf(!soffice)(
    'LibreOffice reads the scatter charts with log axes, bound to the sheet cells',
    async () => {
      const objects = chartObjectsOf(await renderXlsx(sweep));
      const scatter = objects.filter((xml) => xml.includes('chart:class="chart:scatter"'));
      expect(scatter).toHaveLength(4);
      for (const xml of scatter) {
        expect(xml).toContain('chart:logarithmic="true"');
        expect(xml).toMatch(
          /chart:values-cell-range-address="&apos;Latency (curves|spectrum)&apos;\.[A-Z]+\d+:/,
        );
      }
    },
    180_000,
  );

  it('markdown: the capacity table and every rate step, escaped', () => {
    const md = renderMarkdown(withHostileLabel(sweep));
    expect(md).toContain('**Capacity at each latency objective**');
    const capacity = md.split('\n').filter((l) => l.startsWith('| ') && l.includes('| p99=1ms |'));
    expect(capacity).toHaveLength(5);
    expect(md).toContain('| 2b scaleup file resource | 40 bytes | p99=1ms | \\< 5,000 |');
    expect(md).toContain('≥ 40,000');
    const steps = md.split('\n').filter((l) => /^\| \S+ .* \| (25|50|75|90|100)% \|/.test(l));
    expect(steps).toHaveLength(5 * RATE_STEPS.length);
    expect(md).toContain('\\<script>alert("x")\\</script> \\*bold\\* \\| pipe');
    expect(md).not.toMatch(/(?<!\\)<script>/);
    expect(renderMarkdown(closed)).not.toContain('Capacity at each latency objective');
  });
});

describe('reproducible', () => {
  it('the same rate sweep gives the same bytes in every format', async () => {
    for (const render of [renderHtml, renderXlsx, renderPdf]) {
      const [a, b] = [await render(sweep), await render(structuredClone(sweep))];
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
    expect(renderMarkdown(sweep)).toBe(renderMarkdown(structuredClone(sweep)));
  });
});

describe('text from the file in the latency views', () => {
  it('a label with line separators, quotes and markup renders in every report and the comparison', async () => {
    const label = 'evil\u2028"label"\u202e <b>&amp;</b> \x1b[2J';
    const results = structuredClone(sweep);
    for (const c of results.latencyCurves) c.label = label;
    const page = Buffer.from(await renderHtml(results)).toString('utf8');
    expect(page).toContain('evil &quot;label&quot;\\u202e &lt;b&gt;&amp;amp;&lt;/b&gt; \\x1b[2J');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
    expect(page).not.toMatch(/[\u2028\u202e\x1b]/);
    expect(renderMarkdown(results)).toContain('evil "label"\\\\u202e \\<b>\\&amp;\\</b> \\\\x1b\\[2J');
    const bytes = await renderXlsx(results);
    const names = (await workbook(bytes)).getWorksheet(LATENCY_CURVES_SHEET)!.getColumn(1)
      .values as unknown[];
    expect(names).toContain('evil "label"\\u202e <b>&amp;</b> \\x1b[2J (2a)');
    for (const xml of chartParts(bytes)) expect(xml).not.toContain('<b>');
    expect((await renderPdf(results)).length).toBeGreaterThan(0);
    const comparison = buildComparison([
      { path: null, results },
      { path: null, results: buildRateSweep(machineB) },
    ]);
    expect((await renderComparisonPdf(comparison)).length).toBeGreaterThan(0);
    expect((await renderComparisonXlsx(comparison)).length).toBeGreaterThan(0);
  });
});

describe('compare of rate sweeps', () => {
  const comparison = buildComparison([
    { path: null, results: buildRateSweep(machineA) },
    { path: null, results: buildRateSweep(machineB, 1.4) },
  ]);

  it("overlays the machines' p99 curves per scenario and sets their capacities side by side", () => {
    const latency = comparedLatency(comparison.runs);
    expect(latency.curves.map((c) => c.key)).toEqual([
      '2a|40',
      '2b|40',
      'nginx-2|40',
      '1a|10000',
      'nginx-1|10000',
    ]);
    for (const c of latency.curves)
      expect(new Set(c.points.map((p) => p.run))).toEqual(new Set(['bench-a', 'bench-b']));
    expect(latency.capacities).toHaveLength(10);
    expect(latency.capacities.every((c) => c.perRun.every((r) => r !== null))).toBe(true);
  });

  it.skipIf(!poppler)('comparison.pdf and comparison.xlsx carry the overlay and the capacities', async () => {
    const text = pdfText(await renderComparisonPdf(comparison));
    expect(text).toContain('Latency under a constant offered load, per machine');
    expect(text).toContain('p99 against offered load: 2a scaleup fixed resource');
    expect(text).toContain('Capacity at each latency objective, per machine');
    const bytes = await renderComparisonXlsx(comparison);
    const book = await workbook(bytes);
    expect(book.getWorksheet('Latency curves')!.rowCount).toBe(1 + 2 * 5 * RATE_STEPS.length);
    expect(book.getWorksheet('Capacity at SLO')!.rowCount).toBe(1 + 10);
    const scatter = chartParts(bytes).filter((xml) => xml.includes('<c:scatterChart>'));
    expect(scatter).toHaveLength(5);
    for (const xml of scatter) expect(xml.match(/<c:ser>/g)).toHaveLength(2);
  });

  it('closed-loop runs compare as before: no latency sheets', async () => {
    const plain = buildComparison([
      { path: null, results: buildResults(machineA) },
      { path: null, results: buildResults(machineB) },
    ]);
    expect(comparedLatency(plain.runs)).toEqual({ curves: [], capacities: [] });
    const book = await workbook(await renderComparisonXlsx(plain));
    expect(book.getWorksheet('Latency curves')).toBeUndefined();
  });
});
