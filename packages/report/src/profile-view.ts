import {
  type FoldedStack,
  type ProfileBreakdown,
  type ProfileFunction,
  profileBreakdown,
  type ResultsFile,
  type ScenarioResult,
} from '@scaleup/core';
import { serverCpuView } from './display.ts';
import { fmt } from './format.ts';
import type { ProfileFiles } from './profile-files.ts';

/**
 * What every report says about CPU profiles, decided once: the breakdown rows (kernel, native,
 * JavaScript and GC shares, the top functions), which profile pairs with which for the
 * differential view, and the one-line notes for profiles asked for and missing. Pure.
 */

export const PROFILE_NOTE =
  'Where the server processes spent their CPU during one extra, uncounted repetition, sampled with perf: every sample counted once by its leaf frame (kernel, native user code, JavaScript, or user code under the garbage collector). Self: samples running the function’s own code; total: samples with it anywhere on the stack.';

export interface ProfileRow {
  scenario: ScenarioResult;
  samples: number;
  sampleHz: number;
  event: string;
  breakdown: ProfileBreakdown;
  /** The server's median CPU per response (µs), to turn shares into time; null without costs. */
  microsPerResponse: number | null;
  /** The server's processes, or the load tool's (--cpu-profile tool: breakdown only, no graph). */
  who: 'server' | 'load tool';
}

/** One row per result with a profile, in the results' order. */
export function profileRows(results: ResultsFile): ProfileRow[] {
  return results.scenarios.flatMap((s) => {
    const p = s.profile ?? null;
    if (p === null) return [];
    return [
      {
        scenario: s,
        samples: p.samples,
        sampleHz: p.sampleHz,
        event: p.event,
        breakdown: p.breakdown,
        microsPerResponse: serverCpuView(s)?.stat.median ?? null,
        who: 'server' as const,
      },
    ];
  });
}

/** Each server's row followed by its load tool's, when the tool was profiled too. */
export function tableRows(rows: readonly ProfileRow[]): ProfileRow[] {
  return rows.flatMap((r) => {
    const tool = r.scenario.profile?.tool ?? null;
    if (tool === null) return [r];
    const toolRow: ProfileRow = {
      ...r,
      samples: tool.samples,
      breakdown: tool.breakdown,
      microsPerResponse: null,
      who: 'load tool',
    };
    return [r, toolRow];
  });
}

/** What a row profiled: the server's label, or its load tool. */
export function whoText(r: ProfileRow): string {
  return r.who === 'server' ? r.scenario.label : `load tool (${r.scenario.label})`;
}

/** Profiles asked for and missing or partial, or folded files that could not be read. */
export function profileProblems(results: ResultsFile, files?: ProfileFiles): string[] {
  const out: string[] = [];
  for (const s of results.scenarios) {
    if (s.profileProblem) out.push(`${s.id}: ${s.profileProblem}`);
    const loaded = files?.get(s.id);
    if (loaded?.problem) out.push(`${s.id}: flame graph not drawn, ${loaded.problem}`);
  }
  return out;
}

/** What a report shows about profiles, or null for a run without any (its reports stay as they were). */
export interface ProfileContent {
  /** The servers' profiles: a flame graph each, and the pairs. */
  rows: ProfileRow[];
  /** The breakdown table's rows: the servers', each followed by its load tool's. */
  table: ProfileRow[];
  problems: string[];
}

export function profileContent(results: ResultsFile, files?: ProfileFiles): ProfileContent | null {
  const rows = profileRows(results);
  const problems = profileProblems(results, files);
  return rows.length === 0 && problems.length === 0 ? null : { rows, table: tableRows(rows), problems };
}

export const pct = (fraction: number) => `${fmt(fraction * 100, 1)}%`;

/** "kernel 71.2%, native 15.0%, JavaScript 10.9%, GC 2.9%". */
export function sharesText(b: ProfileBreakdown): string {
  return `kernel ${pct(b.kernelFraction)}, native ${pct(b.nativeFraction)}, JavaScript ${pct(b.javascriptFraction)}, GC ${pct(b.gcFraction)}`;
}

/** "tcp_sendmsg (kernel) 12.3%" lines of a top list, the first `n`. */
export function topText(list: readonly ProfileFunction[], by: 'self' | 'total', n: number): string[] {
  return list
    .slice(0, n)
    .map((f) => `${f.name} (${f.kind}) ${pct(by === 'self' ? f.selfFraction : f.totalFraction)}`);
}

export const SHARE_CLASSES = [
  ['kernel', 'kernelFraction'],
  ['native', 'nativeFraction'],
  ['JavaScript', 'javascriptFraction'],
  ['GC', 'gcFraction'],
] as const;

/** Two profiled results at the same payload and point: a server and its baseline (nginx). */
export interface ProfilePair {
  ours: ProfileRow;
  baseline: ProfileRow;
}

/** The same sweep point but for the accept mode, which only our server has. */
function samePoint(a: ScenarioResult, b: ScenarioResult): boolean {
  return a.point.workers === b.point.workers && a.point.connections === b.point.connections;
}

/**
 * Each profiled server with the baseline its ratios were paired with (the summary names it), or
 * else the profiled baseline of its group at the same payload and point.
 */
export function profilePairs(rows: readonly ProfileRow[]): ProfilePair[] {
  const pairs: ProfilePair[] = [];
  for (const ours of rows) {
    const s = ours.scenario;
    if (s.baseline) continue;
    const named = s.summary?.ratioToBaseline?.baseline ?? s.summary?.efficiencyToBaseline?.baseline;
    const baseline =
      rows.find((r) => r.scenario.id === named) ??
      rows.find(
        (r) =>
          r.scenario.baseline &&
          r.scenario.group === s.group &&
          r.scenario.payloadBytes === s.payloadBytes &&
          samePoint(r.scenario, s),
      );
    if (baseline !== undefined && baseline !== ours) pairs.push({ ours, baseline });
  }
  return pairs;
}

export interface DiffRow {
  name: string;
  kind: string;
  /** Share of each profile's samples with the function on the stack. */
  oursShare: number;
  baselineShare: number;
  /** The same in µs per response, when both servers recorded their CPU per response. */
  oursMicros: number | null;
  baselineMicros: number | null;
}

export interface ProfileDiff {
  /** Both in µs per response (the widths in the graphs too), or both in shares of samples. */
  unit: 'µs' | 'share';
  classes: DiffRow[];
  /** Samples inside each system call, the kernel work it does for the server included. */
  syscalls: DiffRow[];
  /** Functions by self samples: where each server's own time burns. */
  functions: DiffRow[];
}

function micros(share: number, row: ProfileRow, unit: ProfileDiff['unit']): number | null {
  return unit === 'µs' && row.microsPerResponse !== null ? share * row.microsPerResponse : null;
}

/** The difference that matters: in time per response when known, else in share. */
export function diffGap(d: DiffRow): number {
  return d.oursMicros !== null && d.baselineMicros !== null
    ? d.oursMicros - d.baselineMicros
    : d.oursShare - d.baselineShare;
}

function largestGaps(rows: DiffRow[], top: number): DiffRow[] {
  return rows
    .sort(
      (x, y) =>
        Math.abs(diffGap(y)) - Math.abs(diffGap(x)) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0),
    )
    .slice(0, top);
}

/**
 * Where two profiles differ: the four shares, the system calls, and the functions whose own
 * (self) time differs most, either way; every function of both profiles is considered.
 */
export function diffProfiles(
  pair: ProfilePair,
  oursStacks: readonly FoldedStack[],
  baselineStacks: readonly FoldedStack[],
  top = 12,
): ProfileDiff {
  const unit =
    pair.ours.microsPerResponse !== null && pair.baseline.microsPerResponse !== null ? 'µs' : 'share';
  const row = (name: string, kind: string, a: number, b: number): DiffRow => ({
    name,
    kind,
    oursShare: a,
    baselineShare: b,
    oursMicros: micros(a, pair.ours, unit),
    baselineMicros: micros(b, pair.baseline, unit),
  });
  const classes = SHARE_CLASSES.map(([label, key]) =>
    row(label, '', pair.ours.breakdown[key], pair.baseline.breakdown[key]),
  );
  const a = profileBreakdown(oursStacks, Number.MAX_SAFE_INTEGER);
  const b = profileBreakdown(baselineStacks, Number.MAX_SAFE_INTEGER);
  const joined = <T>(xs: readonly T[], ys: readonly T[], key: (t: T) => string, share: (t: T) => number) => {
    const left = new Map(xs.map((x) => [key(x), x]));
    const right = new Map(ys.map((y) => [key(y), y]));
    return [...new Set([...left.keys(), ...right.keys()])].map((k) => {
      const l = left.get(k);
      const r = right.get(k);
      return {
        item: (l ?? r)!,
        ours: l === undefined ? 0 : share(l),
        baseline: r === undefined ? 0 : share(r),
      };
    });
  };
  const syscalls = joined(
    a.syscalls,
    b.syscalls,
    (s) => s.name,
    (s) => s.fraction,
  ).map((j) => row(j.item.name, 'system call', j.ours, j.baseline));
  const functions = joined(
    a.topSelf,
    b.topSelf,
    (f) => `${f.kind}\0${f.name}`,
    (f) => f.selfFraction,
  ).map((j) => row(j.item.name, j.item.kind, j.ours, j.baseline));
  return { unit, classes, syscalls: largestGaps(syscalls, top), functions: largestGaps(functions, top) };
}
