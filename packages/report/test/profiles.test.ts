import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseResults, type ResultsFile } from '@scaleup/core';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../src/html.ts';
import { readProfiles } from '../src/profile-files.ts';
import { writeReports } from '../src/write.ts';
import { PROFILE_FUNCTIONS_SHEET, PROFILES_SHEET } from '../src/xlsx-profile.ts';
import { buildResults, machineA } from './fixtures/build.ts';
import { Browser } from './fixtures/chromium.ts';
import { hasCommand } from './fixtures/files.ts';
import { pdfText } from './fixtures/poppler.ts';
import { HOSTILE_FRAME, hostileFolded, profiledRun } from './fixtures/profiles.ts';

/**
 * CPU profiles in every report: the breakdown table in results.html, .pdf, .md and .xlsx, a flame
 * graph per profiled result and the differential view in the page and the PDF, all from the
 * folded files bench --cpu-profile leaves in the results directory (real captures of our server,
 * nginx and a Python server, from core's fixtures).
 */

interface Reports {
  dir: string;
  results: ResultsFile;
  html: string;
  md: string;
  pdf: Uint8Array;
  xlsx: Uint8Array;
}

async function reportsOf(run: { dir: string; results: ResultsFile }): Promise<Reports> {
  const paths = await writeReports(run.dir);
  return {
    ...run,
    html: readFileSync(paths.html, 'utf8'),
    md: readFileSync(paths.md, 'utf8'),
    pdf: readFileSync(paths.pdf),
    xlsx: readFileSync(paths.xlsx),
  };
}

async function sheet(bytes: Uint8Array, name: string): Promise<string[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  const ws = workbook.getWorksheet(name);
  if (ws === undefined) return [];
  const rows: string[][] = [];
  ws.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((v) => String(v ?? ''))));
  return rows;
}

let plain: Reports;
let hostile: Reports;
beforeAll(async () => {
  plain = await reportsOf(profiledRun());
  hostile = await reportsOf(profiledRun({ 'tw-2': hostileFolded() }));
}, 120_000);

describe('the breakdown table in every report', () => {
  it('results.html: the table, a flame graph per profiled result, the pairs, the missing file as a note', () => {
    const { html } = plain;
    expect(html).toContain('<section id="profiles"><h2>Where the CPU goes</h2>');
    expect(html).toContain('<a href="#profiles">Where the CPU goes</a>');
    const table = html.slice(
      html.indexOf('<table id="profile-table">'),
      html.indexOf('</table>', html.indexOf('<table id="profile-table">')),
    );
    // Four servers' rows and 2a's load tool.
    expect(table.match(/<tr><td>/g)).toHaveLength(5);
    expect(table).toContain('<span class="ci">load tool (scaleup fixed resource)</span>');
    expect(table).toContain('84.0%');
    // 2a, nginx-2 and tw-2 drawn; 2a and tw-2 each against nginx-2 (two graphs each).
    expect(html.match(/<svg class="flame" id="flame-\d+"/g)).toHaveLength(3);
    expect(html.match(/<svg class="flame" id="flame-diff-/g)).toHaveLength(4);
    expect(html).toContain('<h3>2a against nginx-2, 40 B</h3>');
    expect(html).toContain('1a: flame graph not drawn, profiles/1a.folded: missing');
    expect(html.match(/<table class="profile-diff">/g)).toHaveLength(6);
    // The widths share one scale: nginx's graph spans its CPU per response over the wider one's.
    const spans = [...html.matchAll(/id="flame-diff-0-[ab]"[^>]*data-span="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(spans).toHaveLength(2);
    expect(Math.max(...spans)).toBe(1200);
    expect(Math.min(...spans)).toBeLessThan(1200);
    expect(html).toContain('µs of server CPU per response');
    // The page still makes no outside reference, and its policy allows both scripts by hash.
    expect(html.match(/https?:\/\/\S{0,60}/gi)).toBeNull();
    expect(html).toMatch(/script-src 'sha256-[^']+' 'sha256-[^']+'/);
  });

  it('results.md: one row per profile with the four shares and the top functions, and the note', () => {
    const { md } = plain;
    expect(md).toContain('**Where the CPU goes**');
    expect(md).toContain('| Scenario | Samples | kernel | native | JavaScript | GC | Top self | Top total |');
    const profileRow = (id: string) =>
      md.split('\n').find((l) => l.startsWith(`| ${id} `) && l.includes('(kernel)'))!;
    const row = profileRow('2a');
    expect(row).toContain('| 84.0% | 7.4% | 7.4% | 1.2% |');
    expect(row).toContain('finish_task_switch.isra.0 (kernel) 13.6%');
    const nginx = profileRow('nginx-2');
    expect(nginx).toContain('| 80.8% | 19.2% | 0.0% | 0.0% |');
    expect(md).toContain('- 1a: flame graph not drawn, profiles/1a.folded: missing');
    expect(md).toContain('| 2a load tool (scaleup fixed resource) | 120 | 80.8% | 19.2% | 0.0% | 0.0% |');
  });

  it('results.xlsx: a sheet of the breakdowns and a sheet of the top functions', async () => {
    const profiles = await sheet(plain.xlsx, PROFILES_SHEET);
    expect(profiles[0]!.slice(0, 11)).toEqual([
      'Scenario',
      'Server',
      'Profiled',
      'Payload (bytes)',
      'Samples',
      'Event',
      'Rate (Hz)',
      'Kernel share',
      'Native share',
      'JavaScript share',
      'GC share',
    ]);
    const nginx = profiles.find((r) => r[0] === 'nginx-2')!;
    expect(nginx.slice(2, 7)).toEqual(['server', '40', '120', 'cpu-clock', '999']);
    expect(Number(nginx[7])).toBeCloseTo(97 / 120, 6);
    // The load tool's breakdown follows its server's row.
    const at = profiles.findIndex((r) => r[0] === '2a');
    expect(profiles[at + 1]!.slice(0, 4)).toEqual(['2a', 'scaleup fixed resource', 'load tool', '40']);
    expect(profiles.some((r) => r[0] === '1a: flame graph not drawn, profiles/1a.folded: missing')).toBe(
      true,
    );
    const functions = await sheet(plain.xlsx, PROFILE_FUNCTIONS_SHEET);
    const first = functions.find(
      (r) => r[0] === '2a' && r[1] === 'server' && r[2] === 'self samples' && r[3] === '1',
    )!;
    expect(first.slice(4, 6)).toEqual(['finish_task_switch.isra.0', 'kernel']);
    expect(functions.some((r) => r[0] === '2a' && r[1] === 'load tool')).toBe(true);
    expect(functions.length).toBeGreaterThan(4 * 20);
  });

  it('results.pdf: the breakdown page, a flame graph page per profile, the side-by-side page', () => {
    const text = pdfText(plain.pdf);
    expect(text).toContain('Where the CPU goes: CPU profiles under load');
    const pages = text.split('\f');
    const flame = pages.find((p) => p.startsWith('CPU profile: 2a scaleup fixed resource, 40 B'))!;
    expect(flame).toBeDefined();
    // Frame names drawn on the graph itself (the widest frames carry their names), then the tops.
    for (const frame of ['__libc_start_call_main', 'uv__io_poll', 'tcp_sendmsg'])
      expect(flame).toContain(frame);
    expect(text).toContain('Top by self samples');
    expect(pages.find((p) => p.startsWith('CPU profile: 1a'))).toContain(
      'Flame graph not drawn: profiles/1a.folded: missing.',
    );
    expect(pages.filter((p) => p.startsWith('CPU profile: '))).toHaveLength(4);
    expect(text).toContain('2a against nginx-2, 40 B');
    expect(text).toMatch(/setsockopt \(system call\)/);
  });
});

describe('profiles are untrusted input', () => {
  it('a hostile function name is escaped in every report', async () => {
    const { html, md, pdf, xlsx } = hostile;
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;\\u202e|x|*bold*\\x1b[31m');
    expect(html).not.toContain('\u202e');
    expect(html).not.toContain('\x1b');
    expect(md).not.toMatch(/(?<!\\)<img/);
    expect(md).toContain('\\<img src=x onerror=alert(1)>&"\\\\u202e\\|x\\|\\*bold\\*\\\\x1b\\[31m');
    expect(pdfText(pdf)).toContain('<img src=x onerror=alert(1)>&"\\u202e|x|*bold*\\x1b[31m');
    const functions = await sheet(xlsx, PROFILE_FUNCTIONS_SHEET);
    const names = functions.map((r) => r[4]!);
    expect(names).toContain('<img src=x onerror=alert(1)>&"\\u202e|x|*bold*\\x1b[31m');
    expect(names.join('')).not.toContain('\u202e');
    expect(HOSTILE_FRAME).toContain('\u202e');
  });

  it('a folded path out of the results directory, or a broken file, is a note and the reports are written', async () => {
    const run = profiledRun({ 'nginx-2': 'nginx;main three\n' });
    const results = JSON.parse(readFileSync(join(run.dir, 'results.json'), 'utf8'));
    results.scenarios.find((s: { id: string }) => s.id === '2a').profile.folded = '../../../../etc/passwd';
    writeFileSync(join(run.dir, 'results.json'), JSON.stringify(results));
    const { html, md } = await reportsOf(run);
    expect(html).toContain(
      '2a: flame graph not drawn, ../../../../etc/passwd: not a path inside the results directory',
    );
    expect(html).toMatch(
      /nginx-2: flame graph not drawn, profiles\/nginx-2.folded: [^<]*line 1 is not &#39;frames count&#39;/,
    );
    expect(md).toContain('nginx-2: flame graph not drawn');
    expect(html).not.toContain('root:x:0');
    // Only tw-2 is drawn; no pair has both files.
    expect(html.match(/<svg class="flame" id="flame-\d+"/g)).toHaveLength(1);
    expect(html).toContain('Not drawn: a folded file is missing');
  });

  it('the same results and folded files give the same bytes', async () => {
    const again = await reportsOf({ dir: plain.dir, results: plain.results });
    expect(again.html).toBe(plain.html);
    expect(again.md).toBe(plain.md);
    expect(Buffer.compare(Buffer.from(again.pdf), Buffer.from(plain.pdf))).toBe(0);
    expect(Buffer.compare(Buffer.from(again.xlsx), Buffer.from(plain.xlsx))).toBe(0);
  });

  it('a run without profiles has no profile section, script or sheet (its reports stay as they were)', async () => {
    const results = buildResults(machineA);
    const html = Buffer.from(await renderHtml(results)).toString('utf8');
    expect(html).not.toContain('id="profiles"');
    expect(html).not.toContain('svg.flame');
    expect(html).toMatch(/script-src 'sha256-[^' ]+'; /);
    const parsed = parseResults(JSON.parse(JSON.stringify(results)));
    expect((await readProfiles(parsed, '/nonexistent')).size).toBe(0);
  });
});

const chromium = hasCommand('chromium');

describe.skipIf(!chromium)('the flame graph in headless Chromium', () => {
  let browser: Browser;
  let url: string;

  beforeAll(() => {
    url = pathToFileURL(join(plain.dir, 'results.html')).href;
    browser = Browser.launch();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders, shows a frame on hover, zooms a clicked frame to full width and resets, requesting nothing', async () => {
    const tab = await browser.open(url, { width: 1200, height: 900 });
    try {
      const state = await tab.evaluate<{
        graphs: number;
        frames: number;
        svgWidth: number;
        rootWidth: number;
        before: number;
        after: number;
        parentWidth: number;
        siblingHidden: boolean;
        info: string;
        resetShown: boolean;
        afterReset: number;
        zoomed: string | null;
      }>(`(() => {
        const svg = document.getElementById('flame-1');
        svg.scrollIntoView();
        const frames = [...svg.querySelectorAll('g.f')];
        const width = (g) => g.querySelector('rect').getBoundingClientRect().width;
        // A mid-sized frame: narrower than a third of the graph, wider than a few pixels.
        const svgWidth = svg.getBoundingClientRect().width;
        const target = frames.find((g) => width(g) < svgWidth / 3 && width(g) > 20 && g.querySelector('title').textContent.startsWith('tcp_sendmsg'))
          || frames.find((g) => width(g) < svgWidth / 3 && width(g) > 20);
        const parent = frames[Number(target.getAttribute('data-p'))];
        const sibling = frames.find((g) => g !== target && g.getAttribute('data-p') === target.getAttribute('data-p'));
        const before = width(target);
        target.dispatchEvent(new MouseEvent('mouseenter'));
        const info = svg.parentNode.querySelector('.flame-info').textContent;
        target.dispatchEvent(new MouseEvent('click', { bubbles: true }));
        const after = width(target);
        const result = {
          graphs: document.querySelectorAll('svg.flame').length,
          frames: frames.length,
          svgWidth,
          rootWidth: width(frames[0]),
          before,
          after,
          parentWidth: width(parent),
          siblingHidden: sibling ? getComputedStyle(sibling).display === 'none' : true,
          info,
          resetShown: !svg.parentNode.querySelector('.flame-reset').hidden,
          zoomed: svg.getAttribute('data-zoomed'),
        };
        svg.parentNode.querySelector('.flame-reset').click();
        result.afterReset = width(target);
        return result;
      })()`);
      expect(state.graphs).toBe(7);
      expect(state.frames).toBeGreaterThan(100);
      expect(state.svgWidth).toBeGreaterThan(1000);
      // The root spans the graph (inside its 1px border).
      expect(state.rootWidth).toBeGreaterThan(state.svgWidth - 3);
      expect(state.before).toBeLessThan(state.svgWidth / 3);
      // The clicked frame is now full width, its parent too (dimmed), others out of the way.
      expect(state.after).toBeCloseTo(state.rootWidth, 0);
      expect(state.parentWidth).toBeCloseTo(state.rootWidth, 0);
      expect(state.siblingHidden).toBe(true);
      expect(state.resetShown).toBe(true);
      expect(state.zoomed).not.toBe('0');
      expect(state.info).toMatch(/ — .* samples \([\d.]+%\), \d+ self; [\d.]+% of all$/);
      expect(state.afterReset).toBeCloseTo(state.before, 1);
      expect(tab.requests.filter((r) => !r.startsWith('data:'))).toEqual([url]);
      expect(tab.errors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('a click on a real mouse position zooms too (the script listens on the frames, not only on events sent)', async () => {
    const tab = await browser.open(url, { width: 1200, height: 900 });
    try {
      const point = await tab.evaluate<{ x: number; y: number; index: number }>(`(() => {
        const svg = document.getElementById('flame-2');
        svg.scrollIntoView();
        const frames = [...svg.querySelectorAll('g.f')];
        const index = frames.findIndex((g) => { const w = g.querySelector('rect').getBoundingClientRect().width; return w > 30 && w < svg.getBoundingClientRect().width / 2; });
        const box = frames[index].querySelector('rect').getBoundingClientRect();
        return { x: box.left + box.width / 2, y: box.top + box.height / 2, index };
      })()`);
      for (const type of ['mousePressed', 'mouseReleased']) {
        await tab.send('Input.dispatchMouseEvent', {
          type,
          x: point.x,
          y: point.y,
          button: 'left',
          clickCount: 1,
        });
      }
      const widths = await tab.evaluate<{ frame: number; full: number; zoomed: string | null }>(`(() => {
        const svg = document.getElementById('flame-2');
        const frames = svg.querySelectorAll('g.f');
        const width = (g) => g.querySelector('rect').getBoundingClientRect().width;
        return { frame: width(frames[${point.index}]), full: svg.getBoundingClientRect().width - 2, zoomed: svg.getAttribute('data-zoomed') };
      })()`);
      expect(widths.zoomed).toBe(String(point.index));
      expect(widths.frame).toBeCloseTo(widths.full, 0);
      expect(tab.errors).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});
