import { type FoldedStack, frameKind, isGcFrame, plainFrame } from '@scaleup/core';

/**
 * Flame graph layout, pure: folded stacks in, rectangles out, in samples (x and width) and
 * levels (depth), so each layout (SVG in the page, pdfkit in the PDF) only scales them. Frames
 * with the same name under the same parent merge; siblings are ordered by name, as flamegraph.pl
 * orders them, so the same stacks always give the same picture and a width is a share of samples.
 */

/** The four colours of a flame graph, the same split as the breakdown's fractions. */
export type FlameKind = 'kernel' | 'native' | 'javascript' | 'gc';

export interface FlameFrame {
  /** The frame as folded (thread name at depth 1), without its `_[k]`/`_[j]` suffix. */
  name: string;
  kind: FlameKind;
  /** 0 is the root (every sample); 1 the thread names; then the stack from its outermost frame. */
  depth: number;
  /** Samples left of this frame at its depth. */
  x: number;
  /** Samples with this frame on the stack at this place: its width. */
  samples: number;
  /** Samples with this frame at the leaf. */
  self: number;
  /** Index of the parent in `frames`, -1 for the root; parents always come before children. */
  parent: number;
}

export interface FlameGraph {
  total: number;
  /** Deepest depth drawn. */
  depth: number;
  frames: FlameFrame[];
  /** Frames left out as narrower than the minimum (their samples stay in their parents' width). */
  hiddenFrames: number;
}

export interface FlameLayoutOptions {
  /** Frames narrower than this share of all samples are left out, with their subtrees. */
  minFraction?: number;
  /** Frames deeper than this are left out (a runaway [unknown] chain). */
  maxDepth?: number;
}

interface Node {
  name: string;
  folded: string;
  samples: number;
  self: number;
  children: Map<string, Node>;
}

const ROOT_NAME = 'all';

function newNode(folded: string): Node {
  return { name: plainFrame(folded), folded, samples: 0, self: 0, children: new Map() };
}

function buildTree(stacks: readonly FoldedStack[]): Node {
  const root = newNode(ROOT_NAME);
  for (const stack of stacks) {
    if (!(stack.samples > 0)) continue;
    root.samples += stack.samples;
    let node = root;
    for (const frame of stack.frames) {
      let child = node.children.get(frame);
      if (child === undefined) {
        child = newNode(frame);
        node.children.set(frame, child);
      }
      child.samples += stack.samples;
      node = child;
    }
    node.self += stack.samples;
  }
  return root;
}

/** The frame's colour: its own kind, and user-space code under a garbage collector frame is GC. */
function kindOf(folded: string, depth: number, underGc: boolean): FlameKind {
  // The root and the thread names are not code.
  if (depth <= 1) return 'native';
  const kind = frameKind(folded);
  if (kind === 'kernel') return 'kernel';
  if (underGc || isGcFrame(folded)) return 'gc';
  return kind;
}

function byName(a: Node, b: Node): number {
  return a.folded < b.folded ? -1 : a.folded > b.folded ? 1 : 0;
}

/** Lays out folded stacks as a flame graph; see the module comment. */
export function layoutFlameGraph(
  stacks: readonly FoldedStack[],
  options: FlameLayoutOptions = {},
): FlameGraph {
  const root = buildTree(stacks);
  const minSamples = root.samples * (options.minFraction ?? 0);
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
  const frames: FlameFrame[] = [];
  let hiddenFrames = 0;
  let deepest = 0;
  // Iterative depth-first walk: stacks can be hundreds of frames deep.
  const work: { node: Node; depth: number; x: number; parent: number; underGc: boolean }[] = [
    { node: root, depth: 0, x: 0, parent: -1, underGc: false },
  ];
  while (work.length > 0) {
    const { node, depth, x, parent, underGc } = work.pop()!;
    const kind = kindOf(node.folded, depth, underGc);
    const index = frames.length;
    frames.push({ name: node.name, kind, depth, x, samples: node.samples, self: node.self, parent });
    deepest = Math.max(deepest, depth);
    const children = [...node.children.values()].sort(byName);
    const placed: (typeof work)[number][] = [];
    let offset = x;
    for (const child of children) {
      if (child.samples < minSamples || depth + 1 > maxDepth) hiddenFrames += countFrames(child);
      else placed.push({ node: child, depth: depth + 1, x: offset, parent: index, underGc: kind === 'gc' });
      offset += child.samples;
    }
    // Reversed onto the stack so the leftmost child comes out first: frames stay in pre-order.
    for (let i = placed.length - 1; i >= 0; i--) work.push(placed[i]!);
  }
  return { total: root.samples, depth: deepest, frames, hiddenFrames };
}

function countFrames(node: Node): number {
  let n = 0;
  const work = [node];
  while (work.length > 0) {
    const next = work.pop()!;
    n++;
    for (const child of next.children.values()) work.push(child);
  }
  return n;
}

/** Whether `frame` is `ancestor` itself or lies inside it (pre-order: a contiguous run after it). */
export function isWithin(graph: FlameGraph, frame: number, ancestor: number): boolean {
  for (let i = frame; i !== -1; i = graph.frames[i]!.parent) if (i === ancestor) return true;
  return false;
}

const HUES: Record<FlameKind, [number, number]> = {
  kernel: [28, 85],
  native: [2, 70],
  javascript: [105, 45],
  gc: [265, 50],
};

/** The kinds as the legends name them. */
export const FLAME_KIND_LABELS: Record<FlameKind, string> = {
  kernel: 'kernel',
  native: 'native user code',
  javascript: 'JavaScript',
  gc: 'garbage collector',
};

/**
 * A frame's fill: its kind's hue, the lightness varied by its name so neighbours stand apart and
 * the same function has the same colour everywhere; the root and the thread names grey.
 */
export function frameColour(frame: Pick<FlameFrame, 'name' | 'kind' | 'depth'>): string {
  if (frame.depth <= 1) return frame.depth === 0 ? '#c8c8c8' : '#d9d9d9';
  let hash = 2166136261;
  for (let i = 0; i < frame.name.length; i++) hash = Math.imul(hash ^ frame.name.charCodeAt(i), 16777619);
  const [hue, saturation] = HUES[frame.kind];
  const lightness = 58 + ((hash >>> 0) % 14);
  return hslHex(hue, saturation, lightness);
}

/** HSL to #rrggbb: both the page and pdfkit take hex. */
function hslHex(h: number, s: number, l: number): string {
  const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
  const channel = (n: number) => {
    const k = (n + h / 30) % 12;
    const v = l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/** A name cut to `chars` characters with an ellipsis, or '' when not even a few would fit. */
export function fitLabel(name: string, chars: number): string {
  if (chars < 3) return '';
  if (name.length <= chars) return name;
  // Never cut a surrogate pair in two.
  return `${name.slice(0, chars - 1).replace(/[\ud800-\udbff]$/, '')}…`;
}
