import { constants, type Stats } from 'node:fs';
import { mkdir, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  deriveSummaries,
  type ImportManifest,
  oneLine,
  parseImportManifest,
  quoted,
  RESULTS_SCHEMA_ID,
  RESULTS_SCHEMA_VERSION,
  type Repetition,
  type ResultsFile,
  ScenarioError,
  type ScenarioResult,
  serializeResults,
  UsageError,
} from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import { adapterFor } from '@scaleup/driver';
import { judgeRepetition } from './verdict.ts';

/**
 * `bench import`: outputs of load tools run by hand become an ordinary results.json, judged as a
 * measured run is (an all-404 or all-failed capture is an invalid repetition with its reason,
 * never throughput), with the environment the manifest describes and nothing of this machine.
 */

export interface ImportOptions {
  manifestPath: string;
  outDir: string;
  argv: string[];
  scaleupVersion: string;
}

/**
 * A manifest's problems as a UsageError, one line each (one problem: one line in all); nothing
 * has been written yet.
 */
function manifestError(source: string, problems: string[]): UsageError {
  if (problems.length === 1) return new UsageError(`${source}: ${problems[0]}`);
  return new UsageError(
    `${source}: ${problems.length} problems:\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
}

/** Load tools print kilobytes; a capture past this is not an output, and is not read. */
export const MAX_CAPTURE_BYTES = 64 * 2 ** 20;
/** All captures of one manifest together: what the import holds in memory at once. */
export const MAX_CAPTURES_TOTAL_BYTES = 256 * 2 ** 20;
const MAX_MANIFEST_BYTES = 16 * 2 ** 20;
const MiB = (bytes: number) => `${bytes / 2 ** 20} MiB`;

/** Why a file cannot be read as a capture or manifest: one line of a UsageError. */
class FileProblem extends Error {}

/** A failed system call on a capture or manifest, by its code (ENOENT, EACCES, ...). */
function unreadable(error: unknown): FileProblem {
  return new FileProblem(
    `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
  );
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a directory';
  return 'not a plain file';
}

/**
 * A regular file's bytes, at most `limit` of them. Checked before it is opened (opening some
 * devices does something) and again on the open descriptor (the path may have been swapped
 * since); opened non-blocking, so a FIFO without a writer cannot hang the read.
 */
async function readRegularFile(path: string, limit: number): Promise<Buffer> {
  const check = (stats: Stats) => {
    if (!stats.isFile()) throw new FileProblem(`not a regular file (${kindOf(stats)})`);
    if (stats.size > limit) throw new FileProblem(`larger than ${MiB(limit)} (${stats.size} bytes)`);
  };
  check(await stat(path).catch((error: unknown) => Promise.reject(unreadable(error))));
  const handle = await open(
    path,
    constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW,
  ).catch((error: unknown) => Promise.reject(unreadable(error)));
  try {
    check(await handle.stat());
    // Read to the end, not to the size stat gave: a file that grew since is still bounded.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, length);
      length += bytesRead;
      if (length > limit) throw new FileProblem(`larger than ${MiB(limit)}`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
  } catch (error) {
    throw error instanceof FileProblem ? error : unreadable(error);
  } finally {
    await handle.close();
  }
}

export async function readManifest(path: string): Promise<ImportManifest> {
  let text: string;
  try {
    text = (await readRegularFile(path, MAX_MANIFEST_BYTES)).toString('utf8');
  } catch (error) {
    if (error instanceof FileProblem) throw new UsageError(`manifest ${path}: ${error.message}`);
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not JSON (${oneLine((error as Error).message)})`);
  }
  try {
    return parseImportManifest(raw, path);
  } catch (error) {
    if (error instanceof ScenarioError) throw manifestError(path, error.problems);
    throw error;
  }
}

interface Capture {
  /** The path the manifest names, resolved against its directory (symlinks kept). */
  path: string;
  bytes: Buffer;
}

/**
 * A capture of a manifest from anywhere: a regular file of bounded size whose real path (every
 * symlink followed) is inside the manifest's real directory.
 */
async function readCapture(realBase: string, base: string, capture: string): Promise<Capture> {
  const path = resolve(base, capture);
  const real = await realpath(path).catch((error: unknown) => Promise.reject(unreadable(error)));
  const inside = relative(realBase, real);
  if (inside === '' || inside === '..' || inside.startsWith('../') || isAbsolute(inside))
    throw new FileProblem(`leads outside the manifest's directory (to ${quoted(real)})`);
  return { path, bytes: await readRegularFile(real, MAX_CAPTURE_BYTES) };
}

/** Every capture's bytes, or every capture that cannot be read, all at once. */
async function readCaptures(manifest: ImportManifest, manifestPath: string) {
  const base = dirname(manifestPath);
  const realBase = await realpath(base);
  const problems: string[] = [];
  const captures = new Map<string, Capture>();
  let total = 0;
  for (const [s, scenario] of manifest.scenarios.entries()) {
    for (const [c, name] of scenario.captures.entries()) {
      const where = `scenarios.${s}.captures.${c}: ${quoted(name)}`;
      try {
        const capture = await readCapture(realBase, base, name);
        total += capture.bytes.length;
        if (total > MAX_CAPTURES_TOTAL_BYTES)
          throw new FileProblem(`the captures together pass ${MiB(MAX_CAPTURES_TOTAL_BYTES)}`);
        captures.set(`${s}:${c}`, capture);
      } catch (error) {
        if (!(error instanceof FileProblem)) throw error;
        problems.push(`${where}: ${error.message}`);
      }
    }
  }
  if (problems.length > 0) throw manifestError(manifestPath, problems);
  return captures;
}

/** A copied capture: where it came from, where it goes under the run, and its bytes. */
interface CaptureCopy {
  from: string;
  to: string;
  bytes: Buffer;
}

/** One repetition per capture, parsed and judged as a measured one would be. */
function repetitionsOf(
  manifest: ImportManifest,
  s: number,
  captures: Map<string, Capture>,
  copies: CaptureCopy[],
  outDir: string,
): Repetition[] {
  const scenario = manifest.scenarios[s]!;
  const adapter = adapterFor(manifest.tool);
  const date = dateOf(manifest);
  const connections = scenario.connections ?? manifest.load.connections;
  return scenario.captures.map((_, c) => {
    const { path, bytes } = captures.get(`${s}:${c}`)!;
    const rawOutputPath = rawPathFor(outDir, path, `${scenario.id}-r${c + 1}`);
    copies.push({ from: path, to: rawOutputPath, bytes });
    const inFlight = manifest.load.durationSeconds !== undefined ? connections : 0;
    const parsed = adapter.parse(bytes.toString('utf8'), '', undefined, {
      expectedBodyBytes: scenario.payloadBytes,
      inFlightResponses: inFlight,
      ...(manifest.toolVersion === undefined ? {} : { toolVersion: manifest.toolVersion }),
    });
    const { latencyHistogram: _histogram, ...load } = { ...parsed, rawOutputPath };
    return {
      round: c,
      startedAt: date,
      load,
      serverCpu: [],
      serverCpuUtilisation: null,
      workers: null,
      tcp: null,
      stealFraction: null,
      verdict: judgeRepetition({
        load,
        expectedBodyBytes: scenario.payloadBytes,
        serverCpuUtilisation: null,
        inFlightResponses: inFlight,
        connections,
        ...(manifest.load.requests !== undefined ? { requestedCount: manifest.load.requests } : {}),
      }),
    };
  });
}

const dateOf = (manifest: ImportManifest) => new Date(Date.parse(manifest.machine.date)).toISOString();

function scenarioOf(manifest: ImportManifest, s: number, repetitions: Repetition[]): ScenarioResult {
  const scenario = manifest.scenarios[s]!;
  return {
    id: scenario.id,
    scenarioId: scenario.id,
    compareAs: scenario.compareAs ?? null,
    point: {
      workers: scenario.workers ?? manifest.machine.logicalCores,
      connections: scenario.connections ?? manifest.load.connections,
      serverCpus: null,
      loadCpus: null,
      accept: null,
      offeredRate: null,
      rateStep: null,
    },
    serverHost: manifest.machine.hostname,
    label: scenario.label,
    payloadBytes: scenario.payloadBytes,
    group: `${scenario.payloadBytes}B`,
    baseline: scenario.baseline,
    server: { kind: 'imported', name: scenario.server, workers: scenario.workers ?? null },
    url: null,
    skipped: null,
    verification: null,
    warmup: null,
    repetitions,
    summary: null,
    profile: null,
    profileProblem: null,
  };
}

/** The machine as the manifest describes it: nothing of the machine that imports. */
function environmentOf(manifest: ImportManifest): ResultsFile['environment'] {
  const m = manifest.machine;
  return {
    hostname: m.hostname,
    cpuModel: m.cpuModel,
    physicalCores: m.physicalCores ?? null,
    logicalCores: m.logicalCores,
    smt: m.physicalCores === undefined ? null : m.logicalCores > m.physicalCores,
    memoryBytes: m.memoryGiB === undefined ? null : Math.round(m.memoryGiB * 2 ** 30),
    kernel: m.kernel ?? null,
    distribution: m.os ?? null,
    virtualisation: m.virtualisation ?? null,
    cpuGovernor: null,
    nodeVersion: null,
    nginx: { version: null, path: null, missing: null },
    tools: [{ name: manifest.tool, version: manifest.toolVersion ?? null, path: null, missing: null }],
    openFilesSoft: null,
    openFilesHard: null,
    sysctls: {},
    git: { commit: null, dirty: null },
  };
}

function planOf(manifest: ImportManifest, scenarios: ScenarioResult[]): ResultsFile['plan'] {
  const m = manifest.machine;
  const baselineConnections = [
    ...new Set(
      manifest.scenarios.filter((s) => s.baseline).map((s) => s.connections ?? manifest.load.connections),
    ),
  ];
  return {
    tool: manifest.tool,
    requests: manifest.load.requests ?? null,
    durationSeconds: manifest.load.durationSeconds ?? null,
    connections: manifest.load.connections,
    baselineConnections:
      baselineConnections.length === 1 && baselineConnections[0] !== manifest.load.connections
        ? baselineConnections[0]!
        : null,
    threads: manifest.load.threads,
    keepAlive: manifest.load.keepAlive,
    repetitions: Math.max(...manifest.scenarios.map((s) => s.captures.length)),
    warmupRuns: 0,
    warmupSeconds: 0,
    sweep: {
      workers: [...new Set(scenarios.map((s) => s.point.workers))].sort((a, b) => a - b),
      connections: [manifest.load.connections],
      serverCpus: null,
      accept: null,
    },
    adaptive: null,
    confidenceTarget: 0.95,
    loadHosts: [m.hostname],
    rates: null,
    slo: [],
  };
}

/** Turns a manifest and its captures into results, validated; writes nothing. */
export async function importResults(
  options: ImportOptions,
): Promise<{ results: ResultsFile; captures: CaptureCopy[] }> {
  const manifest = await readManifest(options.manifestPath);
  const captures = await readCaptures(manifest, options.manifestPath);
  const outDir = resolve(options.outDir);
  const date = dateOf(manifest);
  const copies: CaptureCopy[] = [];
  const scenarios = manifest.scenarios.map((_, s) =>
    scenarioOf(manifest, s, repetitionsOf(manifest, s, captures, copies, outDir)),
  );
  const m = manifest.machine;
  const results: ResultsFile = {
    schema: RESULTS_SCHEMA_ID,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    complete: true,
    interrupted: null,
    run: {
      id: basename(outDir),
      startedAt: date,
      finishedAt: date,
      profile: 'imported',
      suite: manifest.suite,
      argv: options.argv,
      scaleupVersion: options.scaleupVersion,
      source: 'imported',
    },
    environment: environmentOf(manifest),
    hosts: [],
    tuning: [],
    topology: {
      pinned: false,
      serverCpus: null,
      loadCpus: null,
      serverCpuQuotaCores: null,
      description: 'as run by hand (imported): pinning unknown',
      calibration: null,
    },
    plan: planOf(manifest, scenarios),
    scenarios,
    stopping: [],
    scaling: [],
    latencyCurves: [],
    warnings: [
      `imported from ${manifest.scenarios.reduce((n, s) => n + s.captures.length, 0)} captures of ${manifest.tool} run by hand on ${m.hostname}; the environment is what the manifest says`,
      ...manifest.notes,
    ],
  };
  deriveSummaries(results);
  // Validates: a manifest that decodes can still describe results the schema refuses.
  serializeResults(results);
  return { results, captures: copies };
}

/**
 * Raw outputs live under the run directory, relative to it; a capture already there is
 * referenced, one elsewhere is copied to raw/ under a name of its own.
 */
function rawPathFor(outDir: string, capture: string, name: string): string {
  const inside = relative(outDir, capture);
  return !inside.startsWith('..') && !isAbsolute(inside)
    ? inside
    : join('raw', `${name}-${basename(capture)}`);
}

/** Imports, then writes results.json (atomically) and the captures that live elsewhere into raw/. */
export async function importCaptures(options: ImportOptions): Promise<ResultsFile> {
  const { results, captures } = await importResults(options);
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  for (const { from, to, bytes } of captures) {
    if (resolve(outDir, to) === from) continue;
    await mkdir(dirname(join(outDir, to)), { recursive: true });
    // The bytes checked and parsed, not the path again: it may be something else by now.
    await writeFileAtomic(join(outDir, to), bytes);
  }
  await writeFileAtomic(join(outDir, 'results.json'), serializeResults(results));
  return results;
}
