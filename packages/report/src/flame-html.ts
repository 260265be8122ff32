import type { FoldedStack, ResultsFile } from '@scaleup/core';
import {
  FLAME_KIND_LABELS,
  type FlameGraph,
  type FlameKind,
  fitLabel,
  frameColour,
  layoutFlameGraph,
} from './flamegraph.ts';
import { displayName, fmt } from './format.ts';
import type { ProfileFiles } from './profile-files.ts';
import {
  type DiffRow,
  diffGap,
  diffProfiles,
  PROFILE_NOTE,
  type ProfilePair,
  type ProfileRow,
  pct,
  profileContent,
  profilePairs,
  SHARE_CLASSES,
  whoText,
} from './profile-view.ts';

/**
 * The page's CPU profile section: the breakdown table, an interactive flame graph per profiled
 * result (SVG drawn here, so it shows without scripts too; FLAME_SCRIPT adds hover details, a
 * click to zoom into a frame and a reset) and the differential view of each server against its
 * baseline at the same payload. Every function name is text from a file: cleaned and escaped.
 */

/** Width of a full graph in SVG units (the SVG scales to its box). */
const WIDTH = 1200;
const ROW = 17;
/** Approximate advance of one character at the labels' 11px. */
const CHAR = 6.8;
/** Frames under 1/2000 of the samples would be under a pixel: left out of the page. */
const MIN_FRACTION = 0.0005;
const MAX_DEPTH = 150;

type Escape = (text: string) => string;

const round = (v: number) => Math.round(v * 100) / 100;

function frameTitle(graph: FlameGraph, i: number): string {
  const f = graph.frames[i]!;
  const kind = f.depth === 0 ? 'every sample' : f.depth === 1 ? 'thread' : FLAME_KIND_LABELS[f.kind];
  return `${displayName(f.name)}\n${kind} · ${fmt(f.samples)} samples (${pct(f.samples / graph.total)}), ${fmt(f.self)} self`;
}

/**
 * The graph as SVG: root at the bottom, one <g> per frame carrying its samples for the script.
 * `span` is the root's width in SVG units: less than the full width when two graphs share a scale.
 */
export function flameSvg(graph: FlameGraph, id: string, esc: Escape, span = WIDTH): string {
  const height = (graph.depth + 1) * ROW;
  const scale = span / Math.max(graph.total, 1);
  const frames = graph.frames.map((f, i) => {
    const x = round(f.x * scale);
    const w = round(f.samples * scale);
    const y = (graph.depth - f.depth) * ROW;
    const label = fitLabel(displayName(f.name), Math.floor((w - 6) / CHAR));
    return `<g class="f" data-x="${f.x}" data-w="${f.samples}" data-p="${f.parent}"><title>${esc(frameTitle(graph, i))}</title><rect x="${x}" y="${y}" width="${w}" height="${ROW - 1}" fill="${frameColour(f)}"/><text x="${round(x + 3)}" y="${y + 12}">${esc(label)}</text></g>`;
  });
  return `<svg class="flame" id="${id}" viewBox="0 0 ${WIDTH} ${height}" data-total="${graph.total}" data-span="${round(span)}" role="img" aria-label="flame graph">${frames.join('')}</svg>`;
}

function legend(): string {
  const kinds: FlameKind[] = ['kernel', 'native', 'javascript', 'gc'];
  return `<p class="flame-legend">${kinds
    .map(
      (k) =>
        `<span><i style="background:${frameColour({ name: '', kind: k, depth: 2 })}"></i>${FLAME_KIND_LABELS[k]}</span>`,
    )
    .join(' ')}</p>`;
}

/** One flame graph with its reset button and the line the script writes hover details into. */
function flameFigure(graph: FlameGraph, id: string, caption: string, esc: Escape, span = WIDTH): string {
  const hidden =
    graph.hiddenFrames > 0
      ? ` ${fmt(graph.hiddenFrames)} frames narrower than 1/${fmt(1 / MIN_FRACTION)} of the samples are left out.`
      : '';
  return `<figure class="flame-box"><figcaption>${esc(caption)}${esc(hidden)} <button type="button" class="flame-reset" hidden>Reset zoom</button></figcaption>
<p class="flame-info" aria-live="polite">&nbsp;</p>
${flameSvg(graph, id, esc, span)}</figure>`;
}

function layout(stacks: readonly FoldedStack[]): FlameGraph {
  return layoutFlameGraph(stacks, { minFraction: MIN_FRACTION, maxDepth: MAX_DEPTH });
}

function breakdownTable(rows: readonly ProfileRow[], esc: Escape): string {
  const head = ['Scenario', 'Samples', 'Kernel', 'Native', 'JavaScript', 'GC', 'Top self', 'Top total'];
  const list = (items: string[]) => items.map((t) => `<span class="ci">${esc(t)}</span>`).join('');
  const body = rows.map((r) => {
    const b = r.breakdown;
    const top = (by: 'self' | 'total') =>
      list(
        (by === 'self' ? b.topSelf : b.topTotal)
          .slice(0, 5)
          .map((f) => `${f.name} (${f.kind}) ${pct(by === 'self' ? f.selfFraction : f.totalFraction)}`),
      );
    const shares = SHARE_CLASSES.map(([, key]) => `<td class="num">${pct(b[key])}</td>`).join('');
    return `<tr><td><span class="v">${esc(r.scenario.id)}</span> <span class="ci">${esc(whoText(r))}</span></td><td class="num">${fmt(r.samples)}<span class="ci">${esc(`${r.event} at ${fmt(r.sampleHz)} Hz`)}</span></td>${shares}<td class="small">${top('self')}</td><td class="small">${top('total')}</td></tr>`;
  });
  return `<div class="scroll"><table id="profile-table"><thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody></table></div>`;
}

function diffCell(d: DiffRow, side: 'ours' | 'baseline', unit: 'µs' | 'share'): string {
  const share = side === 'ours' ? d.oursShare : d.baselineShare;
  const micros = side === 'ours' ? d.oursMicros : d.baselineMicros;
  return unit === 'µs' && micros !== null
    ? `<td class="num">${fmt(micros, 2)} µs<span class="ci">${pct(share)}</span></td>`
    : `<td class="num">${pct(share)}</td>`;
}

function diffTable(pair: ProfilePair, rows: DiffRow[], unit: 'µs' | 'share', esc: Escape): string {
  const more = (d: DiffRow) => {
    const gap = diffGap(d);
    const who = gap > 0 ? pair.ours.scenario.id : gap < 0 ? pair.baseline.scenario.id : '–';
    const amount = unit === 'µs' ? `${fmt(Math.abs(gap), 2)} µs` : `${fmt(Math.abs(gap) * 100, 1)} points`;
    return `<td>${esc(gap === 0 ? '–' : `${who} +${amount}`)}</td>`;
  };
  const body = rows.map(
    (d) =>
      `<tr><td class="wrap">${esc(displayName(d.name))}${d.kind ? ` <span class="ci">${esc(d.kind)}</span>` : ''}</td>${diffCell(d, 'ours', unit)}${diffCell(d, 'baseline', unit)}${more(d)}</tr>`,
  );
  const head = ['', pair.ours.scenario.id, pair.baseline.scenario.id, 'Spends more'];
  return `<div class="scroll"><table class="profile-diff"><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${body.join('\n')}\n</tbody></table></div>`;
}

function graphOf(files: ProfileFiles | undefined, id: string): FlameGraph | null {
  const stacks = files?.get(id)?.stacks;
  return stacks ? layout(stacks) : null;
}

/**
 * Both graphs on one scale: widths in CPU per response when both servers recorded it (the wider
 * graph spent more per response), else each full width in shares of its own samples.
 */
function differential(pair: ProfilePair, files: ProfileFiles | undefined, n: number, esc: Escape): string {
  const a = files?.get(pair.ours.scenario.id)?.stacks;
  const b = files?.get(pair.baseline.scenario.id)?.stacks;
  const title = `${pair.ours.scenario.id} against ${pair.baseline.scenario.id}, ${pair.ours.scenario.payloadBytes} B`;
  if (!a || !b)
    return `<h3>${esc(title)}</h3><p class="note">Not drawn: a folded file is missing (see the notes above).</p>`;
  const diff = diffProfiles(pair, a, b);
  const cost = (r: ProfileRow) => r.microsPerResponse ?? 0;
  const widest = Math.max(cost(pair.ours), cost(pair.baseline));
  const span = (r: ProfileRow) => (diff.unit === 'µs' && widest > 0 ? (WIDTH * cost(r)) / widest : WIDTH);
  const caption = (r: ProfileRow) =>
    `${r.scenario.id} ${r.scenario.label}${diff.unit === 'µs' ? `: ${fmt(cost(r), 2)} µs of server CPU per response (full width ${fmt(widest, 2)} µs)` : ''}`;
  const note =
    diff.unit === 'µs'
      ? 'Both graphs on one scale, server CPU per response: a frame’s width is the time that server spends there per response, so the wider one spends more. The tables give the same in µs per response (a share of samples times the median CPU per response).'
      : 'The runs recorded no CPU per response: each graph is full width in shares of its own samples, and the tables compare shares.';
  return [
    `<h3>${esc(title)}</h3>`,
    `<p class="note">${esc(note)}</p>`,
    `<div class="flame-pair">${flameFigure(layout(a), `flame-diff-${n}-a`, caption(pair.ours), esc, span(pair.ours))}${flameFigure(layout(b), `flame-diff-${n}-b`, caption(pair.baseline), esc, span(pair.baseline))}</div>`,
    diffTable(pair, diff.classes, diff.unit, esc),
    `<p class="note">${esc('System calls (the kernel work under each, receive processing in softirqs included), then the functions whose own time (self samples) differs most, either way.')}</p>`,
    diffTable(pair, diff.syscalls, diff.unit, esc),
    diffTable(pair, diff.functions, diff.unit, esc),
  ].join('\n');
}

function scenarioGraph(row: ProfileRow, files: ProfileFiles | undefined, n: number, esc: Escape): string {
  const s = row.scenario;
  const graph = graphOf(files, s.id);
  const title = `<h3 id="profile-${n}">${esc(`${s.id} ${s.label}, ${s.payloadBytes} B`)}</h3>`;
  const shares = SHARE_CLASSES.map(([label, key]) => `${label} ${pct(row.breakdown[key])}`).join(', ');
  const summary = `<p class="note">${esc(`${fmt(row.samples)} samples (${row.event}, ${fmt(row.sampleHz)} Hz): ${shares}.`)}</p>`;
  if (graph === null) {
    const why =
      files?.get(s.id)?.problem ??
      'the folded stacks were not read (report made without its results directory)';
    return `${title}${summary}<p class="note">${esc(`Flame graph not drawn: ${why}.`)}</p>`;
  }
  return `${title}${summary}${flameFigure(graph, `flame-${n}`, 'Hover a frame for its samples; click it to zoom in.', esc)}`;
}

/** The section, or '' for a run without profiles (older runs' pages stay as they were). */
export function profilesSection(results: ResultsFile, files: ProfileFiles | undefined, esc: Escape): string {
  const content = profileContent(results, files);
  if (content === null) return '';
  const { rows, table, problems } = content;
  const pairs = profilePairs(rows);
  return [
    `<section id="profiles"><h2>Where the CPU goes</h2>`,
    `<p class="note">${esc(PROFILE_NOTE)}</p>`,
    rows.length > 0 ? breakdownTable(table, esc) : '',
    problems.length > 0 ? `<ul class="note">${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '',
    rows.length > 0 ? legend() : '',
    ...rows.map((r, i) => scenarioGraph(r, files, i, esc)),
    pairs.length > 0
      ? `<h3>Side by side: each server against ${esc(pairs[0]!.baseline.scenario.label)}</h3>`
      : '',
    ...pairs.map((p, i) => differential(p, files, i, esc)),
    '</section>',
  ]
    .filter(Boolean)
    .join('\n');
}

export const FLAME_STYLE = `
.flame-box{margin:.3em 0 1em;min-width:0}
.flame-box figcaption{font-size:.85rem;color:#333}
svg.flame{display:block;width:100%;height:auto;font-size:11px;border:1px solid #e1e4e8}
svg.flame g.f{cursor:pointer}
svg.flame g.f:hover rect{stroke:#000;stroke-width:.8}
svg.flame g.f.anc rect{opacity:.55}
svg.flame text{fill:#000;pointer-events:none}
.flame-info{font-size:12px;min-height:1.5em;margin:.2em 0;overflow-wrap:anywhere}
.flame-reset{font:inherit;font-size:.8rem;margin-left:.5em}
.flame-legend span{margin-right:1em;font-size:.85rem}
.flame-legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em;border:1px solid #999}
@media print{.flame-reset,.flame-info{display:none}}`;

/**
 * Hover details and zoom for every svg.flame: a click makes the frame full width, its ancestors
 * full width and dimmed, its descendants rescaled, everything else hidden; reset zooms to the root.
 */
export const FLAME_SCRIPT = `(function () {
  'use strict';
  var WIDTH = ${WIDTH};
  var CHAR = ${CHAR};
  Array.prototype.forEach.call(document.querySelectorAll('svg.flame'), function (svg) {
    var box = svg.parentNode;
    var info = box.querySelector('.flame-info');
    var reset = box.querySelector('.flame-reset');
    var total = Number(svg.getAttribute('data-total')) || 1;
    var span = Number(svg.getAttribute('data-span')) || WIDTH;
    var frames = Array.prototype.map.call(svg.querySelectorAll('g.f'), function (g) {
      var title = g.querySelector('title').textContent.split('\\n');
      return { g: g, rect: g.querySelector('rect'), text: g.querySelector('text'), name: title[0], detail: title[1],
        x: Number(g.getAttribute('data-x')), w: Number(g.getAttribute('data-w')), p: Number(g.getAttribute('data-p')) };
    });
    var focus = 0;
    function within(i, ancestor) {
      for (var j = i; j !== -1; j = frames[j].p) if (j === ancestor) return true;
      return false;
    }
    function label(f, width) {
      var chars = Math.floor((width - 6) / CHAR);
      if (chars < 3) return '';
      return f.name.length <= chars ? f.name : f.name.slice(0, chars - 1) + '\\u2026';
    }
    function place(f, x, width, ancestor) {
      f.g.style.display = '';
      f.g.classList.toggle('anc', ancestor);
      f.rect.setAttribute('x', x.toFixed(2));
      f.rect.setAttribute('width', width.toFixed(2));
      f.text.setAttribute('x', (x + 3).toFixed(2));
      f.text.textContent = label(f, width);
    }
    function zoom(index) {
      focus = index;
      var target = frames[index];
      // The root keeps its own span (a graph on a shared scale); any other frame fills the width.
      var full = index === 0 ? span : WIDTH;
      frames.forEach(function (f, i) {
        if (within(index, i)) place(f, 0, full, i !== index);
        else if (within(i, index)) place(f, ((f.x - target.x) / target.w) * full, (f.w / target.w) * full, false);
        else f.g.style.display = 'none';
      });
      svg.setAttribute('data-zoomed', String(index));
      reset.hidden = index === 0;
    }
    frames.forEach(function (f, i) {
      f.g.addEventListener('click', function () { zoom(i); });
      f.g.addEventListener('mouseenter', function () {
        var share = ((100 * f.w) / total).toFixed(1) + '% of all';
        var inFocus = focus === 0 ? '' : ', ' + ((100 * f.w) / frames[focus].w).toFixed(1) + '% of ' + frames[focus].name;
        info.textContent = f.name + ' \\u2014 ' + f.detail + '; ' + share + inFocus;
      });
    });
    reset.addEventListener('click', function () { zoom(0); });
  });
})();`;
