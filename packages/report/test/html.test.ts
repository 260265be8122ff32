import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { parseResults, type ResultsFile } from '@scaleup/core';
import { waitFor } from '@scaleup/core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confidenceText, fmt } from '../src/format.ts';
import { renderHtml } from '../src/html.ts';
import { concerns, intervalExplanation, scalingCharts } from '../src/model.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { Browser } from './fixtures/chromium.ts';
import { fixturesDir, hasCommand, tempDir } from './fixtures/files.ts';

const chromium = hasCommand('chromium');
if (!chromium) {
  console.warn(
    'skipping the Chromium checks of results.html: chromium missing (apt-get install --no-install-recommends chromium, or scripts/setup.sh --test)',
  );
}

const results = buildResults(machineA);
const workers = parseResults(readFileSync(join(fixturesDir, 'sweep-workers.json'), 'utf8'));
const connections = parseResults(readFileSync(join(fixturesDir, 'sweep-connections.json'), 'utf8'));
const html = async (r: ResultsFile) => Buffer.from(await renderHtml(r)).toString('utf8');
const ran = (r: ResultsFile) => r.scenarios.filter((s) => s.summary?.requestsPerSecond != null);

let page: string;
beforeAll(async () => {
  page = await html(results);
});

describe('results.html as a file', () => {
  it('references nothing outside itself: no http(s):// at all, only data: and #fragment links', () => {
    // Strict: not even a namespace name or the vega-lite $schema; inline SVG needs no xmlns.
    // (Matches are compared rather than the page, so a failure prints them, not a megabyte.)
    expect(page.match(/https?:\/\/\S{0,60}/gi)).toBeNull();
    const text = page.replace(/;base64,[A-Za-z0-9+/=]+/g, ';base64,(font)');
    expect(text.length).toBeLessThan(page.length / 5);
    expect(text.match(/.{0,60}(xmlns|vega\.github\.io|@import|http-equiv="refresh").{0,60}/gi)).toBeNull();
    const links = [
      ...text.matchAll(/\s(?:src|href|xlink:href|srcset|action|poster|formaction)\s*=\s*"([^"]*)"/gi),
    ];
    expect(links.length).toBeGreaterThan(0);
    for (const [, target] of links) expect(target).toMatch(/^(#[\w-]+|data:)/);
    for (const [, target] of text.matchAll(/url\(\s*['"]?([^'")]*)/g)) expect(target).toMatch(/^(#|data:)/);
    // And the browser is told so: nothing may load but inline styles, data: fonts and the one script.
    expect(page).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; [^"]*script-src 'sha256-/,
    );
    expect(page).toMatch(/@font-face\{font-family:'DejaVu Sans';[^}]*src:url\(data:font\/ttf;base64,AAEAAA/);
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toContain('@media print');
  });

  it('holds the four seed charts with tooltips giving the exact figures', () => {
    expect(page.match(/<figure class="chart"/g)).toHaveLength(4);
    expect(page.match(/<svg /g)).toHaveLength(4);
    const bars = page.match(/aria-roledescription="bar"[^>]*><title>[^<]+<\/title>/g) ?? [];
    // Every scenario with a figure has a bar in the responses/s and the MB/s chart.
    expect(bars).toHaveLength(2 * ran(results).length);
    const s = results.scenarios.find((x) => x.id === '2a')!;
    const rps = s.summary!.requestsPerSecond!;
    const exact = (v: number, digits: number) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
    expect(page).toContain(
      `<title>2a scaleup fixed resource, 40 bytes; Responses/s: ${exact(rps.median, 2)} (median of ${rps.n} valid repetitions); interval ${exact(rps.ciLow, 2)} – ${exact(rps.ciHigh, 2)}, confidence ${confidenceText(rps)}; vs nginx ${exact(s.summary!.ratioToBaseline!.ratio, 4)}</title>`,
    );
  });

  it('shows every interval with the confidence it reaches, the * footnote and ≥ for lower bounds', async () => {
    for (const s of ran(results)) {
      const rps = s.summary!.requestsPerSecond!;
      expect(page).toContain(
        `[${fmt(rps.ciLow)} – ${fmt(rps.ciHigh)}] ${confidenceText(rps)}</span>`.replace(/&/g, '&amp;'),
      );
    }
    expect(page).toContain(intervalExplanation(results));
    expect(page).toMatch(/93\.7%\*/);
    expect(page).not.toContain('≥ ');
    const bounded = structuredClone(results);
    bounded.scenarios.find((x) => x.id === '2a')!.summary!.lowerBound = true;
    const rps = bounded.scenarios.find((x) => x.id === '2a')!.summary!.requestsPerSecond!;
    expect(await html(bounded)).toContain(`≥ ${fmt(rps.median)}</span>`);
  });

  it('escapes every text taken from results.json', async () => {
    const hostile = structuredClone(results);
    hostile.environment.hostname = '<script>alert("host")</script>';
    hostile.scenarios[0]!.label = 'a & b <img src=x onerror=alert(1)>';
    hostile.run.argv = ['bench', '--url', "http://example.com/'x'"];
    const text = await html(hostile);
    expect(text).not.toContain('<script>alert');
    expect(text).not.toContain('<img');
    expect(text).toContain('&lt;script&gt;alert(&quot;host&quot;)&lt;/script&gt;');
    expect(text).toContain('a &amp; b &lt;img src=x onerror=alert(1)&gt;');
    // A URL in the data is shown as text, never as a reference.
    expect(text).toContain('http&#58;//example.com/&#39;x&#39;');
    expect(text.match(/https?:\/\/\S{0,60}/gi)).toBeNull();
  });

  it('a sweep adds its curves (line charts with tooltips on the points) and the caveats', async () => {
    for (const run of [workers, connections]) {
      const text = await html(run);
      const lines = scalingCharts(run);
      expect(lines.length).toBeGreaterThan(0);
      expect(text.match(/<figure class="chart"/g)).toHaveLength(2 + lines.length);
      expect(text).toContain('Scaling: the curve, not the point');
      for (const chart of lines) expect(text).toContain(`aria-label="${chart.title.replace(/'/g, '&#39;')}"`);
      const points = text.match(/aria-roledescription="point"[^>]*><title>[^<]+<\/title>/g) ?? [];
      const measured = lines.flatMap((c) => c.data.filter((d) => !d.reference && d.y !== null));
      expect(points).toHaveLength(measured.length);
      expect(text.match(/https?:\/\/\S{0,60}/gi)).toBeNull();
    }
    expect(page).not.toContain('Scaling: the curve, not the point');
  });
});

/** Decodes an 8-bit RGB or RGBA PNG (what Chromium writes): width, height and RGBA pixels. */
function decodePng(png: Buffer): { width: number; height: number; pixels: Buffer } {
  expect(png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))).toBe(true);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect(body[8]).toBe(8); // bit depth
      expect(body[12]).toBe(0); // not interlaced
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
    } else if (type === 'IDAT') {
      data.push(body);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? line[i - channels]! : 0;
      const up = previous[i]!;
      const upLeft = i >= channels ? previous[i - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      line[i] = (line[i]! + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 4; c++) {
        out[(y * width + x) * 4 + c] = c < channels ? line[x * channels + c]! : 255;
      }
    }
    previous = line;
  }
  return { width, height, pixels: out };
}

describe.skipIf(!chromium)('results.html in headless Chromium', () => {
  let browser: Browser;
  let url: string;
  const expectedBars = 2 * ran(results).length;

  beforeAll(() => {
    const dir = tempDir();
    const file = join(dir, 'results.html');
    writeFileSync(file, page);
    url = pathToFileURL(file).href;
    browser = Browser.launch();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('desktop: the DOM shows every number and chart, nothing is requested, the screenshot is not blank', async () => {
    const tab = await browser.open(url, { width: 1200, height: 2000 });
    try {
      const dom = await tab.evaluate<{
        svgs: { width: number; height: number; titles: number; bars: number }[];
        summary: string[][];
        repetitions: number;
        fontLoaded: boolean;
        links: string[];
        sortButtons: number;
      }>(`(() => {
        const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')];
        return {
          svgs: [...document.querySelectorAll('figure.chart > svg')].map((svg) => {
            const box = svg.getBoundingClientRect();
            return {
              width: box.width,
              height: box.height,
              titles: svg.querySelectorAll('title').length,
              bars: svg.querySelectorAll('[aria-roledescription=bar]').length,
            };
          }),
          summary: rows('summary-table').map((tr) => [...tr.cells].map((td) => td.textContent)),
          repetitions: rows('repetitions-table').length,
          fontLoaded: [...document.fonts].some((f) => f.family.includes('DejaVu Sans') && f.status === 'loaded'),
          links: [...document.querySelectorAll('[src],[href],[srcset],[action],[poster]')].flatMap((e) =>
            ['src', 'href', 'srcset', 'action', 'poster'].flatMap((a) => (e.hasAttribute(a) ? [e.getAttribute(a)] : []))),
          sortButtons: document.querySelectorAll('#repetitions-table th button').length,
        };
      })()`);
      expect(dom.svgs).toHaveLength(4);
      for (const svg of dom.svgs) {
        expect(svg.width).toBeGreaterThan(300);
        expect(svg.height).toBeGreaterThan(150);
      }
      expect(dom.svgs.reduce((n, s) => n + s.bars, 0)).toBe(expectedBars);
      expect(dom.svgs.reduce((n, s) => n + s.titles, 0)).toBe(expectedBars);
      expect(dom.fontLoaded).toBe(true);
      for (const link of dom.links) expect(link).toMatch(/^(#[\w-]+|data:)/);
      // One summary row per scenario, in order, with its median, interval and ratio.
      expect(dom.summary.map((r) => r[0])).toEqual(results.scenarios.map((s) => `${s.id} ${s.label}`));
      for (const [i, s] of results.scenarios.entries()) {
        const row = dom.summary[i]!.join(' | ');
        const rps = s.summary?.requestsPerSecond;
        if (s.skipped !== null) {
          expect(row).toContain('skipped');
          continue;
        }
        expect(row).toContain(fmt(rps!.median));
        expect(row).toContain(`[${fmt(rps!.ciLow)} – ${fmt(rps!.ciHigh)}] ${confidenceText(rps!)}`);
        expect(row).toContain(s.baseline ? 'baseline' : fmt(s.summary!.ratioToBaseline!.ratio, 3));
      }
      expect(dom.repetitions).toBe(results.scenarios.reduce((n, s) => n + s.repetitions.length, 0));
      expect(dom.sortButtons).toBe(17);

      // Nothing but the page itself and its inline data: URLs was ever asked for, and no error
      // (a blocked script or resource would log one under the Content-Security-Policy).
      expect(tab.requests.filter((r) => !r.startsWith('data:'))).toEqual([url]);
      expect(tab.errors).toEqual([]);

      const shot = await tab.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
      const png = decodePng(Buffer.from(shot.data, 'base64'));
      expect([png.width, png.height]).toEqual([1200, 2000]);
      const colours = new Set<number>();
      let ink = 0;
      let barBlue = 0;
      for (let i = 0; i < png.pixels.length; i += 4) {
        const [r, g, b] = [png.pixels[i]!, png.pixels[i + 1]!, png.pixels[i + 2]!];
        colours.add((r << 16) | (g << 8) | b);
        if (r + g + b < 600) ink++;
        if (r === 0x4f && g === 0x81 && b === 0xbd) barBlue++;
      }
      expect(colours.size).toBeGreaterThan(50);
      expect(ink / (png.width * png.height)).toBeGreaterThan(0.03);
      // The bars are drawn: thousands of pixels in the charts' own blue.
      expect(barBlue).toBeGreaterThan(5000);
    } finally {
      await tab.close();
    }
  });

  it('the checks above would see a leak: an outside image is recorded, and the policy blocks it', async () => {
    const dir = tempDir();
    const leak = '<main><img src="http://example.invalid/leak.png" alt="">';
    const withPolicy = join(dir, 'with-policy.html');
    const withoutPolicy = join(dir, 'without-policy.html');
    writeFileSync(withPolicy, page.replace('<main>', leak));
    writeFileSync(
      withoutPolicy,
      page.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('<main>', leak),
    );
    const blocked = await browser.open(pathToFileURL(withPolicy).href, { width: 800, height: 600 });
    const leaked = await browser.open(pathToFileURL(withoutPolicy).href, { width: 800, height: 600 });
    try {
      // The browser reports both asynchronously, after the page has loaded.
      await waitFor(
        async () =>
          /example\.invalid.*Content Security Policy/.test(blocked.errors.join('\n')) &&
          leaked.requests.includes('http://example.invalid/leak.png')
            ? true
            : undefined,
        { timeoutMs: 10_000, intervalMs: 20, what: 'the blocked and the leaked image to be reported' },
      ).catch(() => undefined);
      expect(blocked.errors.join('\n')).toMatch(/example\.invalid.*Content Security Policy/);
      expect(leaked.requests).toContain('http://example.invalid/leak.png');
    } finally {
      await blocked.close();
      await leaked.close();
    }
  });

  it('sorts the repetitions by a header click, numerically', async () => {
    const tab = await browser.open(url, { width: 1200, height: 900 });
    try {
      const sorted = await tab.evaluate<{
        before: number[];
        up: number[];
        down: number[];
        sort: string | null;
      }>(`(() => {
        const table = document.getElementById('repetitions-table');
        const column = [...table.tHead.rows[0].cells].findIndex((th) => th.textContent.trim() === 'Responses/s');
        const values = () => [...table.tBodies[0].rows].map((tr) => Number(tr.cells[column].dataset.value));
        const before = values();
        table.tHead.rows[0].cells[column].querySelector('button').click();
        const up = values();
        table.tHead.rows[0].cells[column].querySelector('button').click();
        return { before, up, down: values(), sort: table.tHead.rows[0].cells[column].getAttribute('aria-sort') };
      })()`);
      const reps = results.scenarios.flatMap((s) => s.repetitions.map((r) => r.load.requestsPerSecond));
      expect(sorted.before).toEqual(reps);
      expect(sorted.up).toEqual([...reps].sort((a, b) => a - b));
      expect(sorted.down).toEqual([...reps].sort((a, b) => b - a));
      expect(sorted.sort).toBe('descending');
      expect(tab.errors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('works with scripts disabled: everything is there, just unsorted', async () => {
    const tab = await browser.open(url, { width: 1200, height: 900, scripts: false });
    try {
      const dom = await tab.evaluate<{ svgs: number; rows: number; buttons: number }>(`({
        svgs: document.querySelectorAll('figure.chart > svg').length,
        rows: document.querySelectorAll('#repetitions-table tbody tr').length,
        buttons: document.querySelectorAll('th button').length,
      })`);
      expect(dom).toEqual({
        svgs: 4,
        rows: results.scenarios.reduce((n, s) => n + s.repetitions.length, 0),
        buttons: 0,
      });
    } finally {
      await tab.close();
    }
  });

  it('phone width: no page-wide horizontal scroll, charts fit, tables scroll in their own box', async () => {
    const tab = await browser.open(url, { width: 390, height: 844, mobile: true });
    try {
      const dom = await tab.evaluate<{
        pageWidth: number;
        charts: number[];
        tables: { scrolls: boolean; fits: boolean }[];
      }>(`({
        pageWidth: document.documentElement.scrollWidth,
        charts: [...document.querySelectorAll('figure.chart > svg')].map((svg) => svg.getBoundingClientRect().width),
        tables: [...document.querySelectorAll('.scroll')].map((box) => ({
          scrolls: box.scrollWidth > box.clientWidth,
          fits: box.getBoundingClientRect().right <= 390,
        })),
      })`);
      expect(dom.pageWidth).toBeLessThanOrEqual(390);
      for (const width of dom.charts) {
        expect(width).toBeGreaterThan(300);
        expect(width).toBeLessThanOrEqual(390);
      }
      expect(dom.tables.every((t) => t.fits)).toBe(true);
      expect(dom.tables.some((t) => t.scrolls)).toBe(true);
    } finally {
      await tab.close();
    }
  });

  it('prints cleanly: no scroll boxes, a page per section', async () => {
    const tab = await browser.open(url, { width: 1200, height: 900 });
    try {
      await tab.send('Emulation.setEmulatedMedia', { media: 'print' });
      const style = await tab.evaluate<{ overflow: string; breaks: string[]; nav: string }>(`({
        overflow: getComputedStyle(document.querySelector('.scroll')).overflowX,
        breaks: [...document.querySelectorAll('main > section')].map((s) => getComputedStyle(s).breakBefore),
        nav: getComputedStyle(document.querySelector('nav')).display,
      })`);
      expect(style.overflow).toBe('visible');
      expect(style.breaks).toEqual(style.breaks.map((_, i) => (i === 0 ? 'auto' : 'page')));
      expect(style.nav).toBe('none');
      const pdf = await tab.send<{ data: string }>('Page.printToPDF', { printBackground: true });
      expect(Buffer.from(pdf.data, 'base64').subarray(0, 5).toString()).toBe('%PDF-');
    } finally {
      await tab.close();
    }
  });

  it('a sweep: its line charts render beside the seed charts', async () => {
    const file = join(tempDir(), 'results.html');
    writeFileSync(file, await renderHtml(workers));
    const tab = await browser.open(pathToFileURL(file).href, { width: 1200, height: 2000 });
    try {
      const dom = await tab.evaluate<{ charts: number; points: number; warnings: number }>(`({
        charts: document.querySelectorAll('figure.chart > svg').length,
        points: document.querySelectorAll('[aria-roledescription=point] > title').length,
        warnings: document.querySelectorAll('#warnings li').length,
      })`);
      expect(dom.charts).toBe(2 + scalingCharts(workers).length);
      expect(dom.points).toBeGreaterThan(0);
      expect(dom.warnings).toBe(concerns(workers).length);
      expect(tab.requests.filter((r) => !r.startsWith('data:'))).toEqual([pathToFileURL(file).href]);
      expect(tab.errors).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});
