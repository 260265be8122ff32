import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  type ImportManifest,
  parseImportManifest,
  RESULTS_SCHEMA_ID,
  RESULTS_SCHEMA_VERSION,
  type Repetition,
  type ResultsFile,
  ScenarioError,
  type ScenarioResult,
  scalingCurves,
  serializeResults,
  summarizeAll,
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

/** A manifest's problems, one per line, as a UsageError: nothing has been written yet. */
function manifestError(source: string, problems: string[]): UsageError {
  return new UsageError(
    `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
}

export async function readManifest(path: string): Promise<ImportManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read manifest ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not JSON (${(error as Error).message})`);
  }
  try {
    return parseImportManifest(raw, path);
  } catch (error) {
    if (error instanceof ScenarioError) throw manifestError(path, error.problems);
    throw error;
  }
}

/** Every capture's text, or every capture that cannot be read, all at once. */
async function readCaptures(manifest: ImportManifest, manifestPath: string) {
  const base = dirname(manifestPath);
  const problems: string[] = [];
  const texts = new Map<string, { path: string; text: string }>();
  for (const [s, scenario] of manifest.scenarios.entries()) {
    for (const [c, capture] of scenario.captures.entries()) {
      const path = isAbsolute(capture) ? capture : resolve(base, capture);
      try {
        texts.set(`${s}:${c}`, { path, text: await readFile(path, 'utf8') });
      } catch (error) {
        problems.push(
          `scenarios.${s}.captures.${c}: cannot read ${capture} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        );
      }
    }
  }
  if (problems.length > 0) throw manifestError(manifestPath, problems);
  return texts;
}

/** Turns a manifest and its captures into results, validated; writes nothing. */
export async function importResults(
  options: ImportOptions,
): Promise<{ results: ResultsFile; captures: { from: string; to: string }[] }> {
  const manifest = await readManifest(options.manifestPath);
  const texts = await readCaptures(manifest, options.manifestPath);
  const adapter = adapterFor(manifest.tool);
  const outDir = resolve(options.outDir);
  const date = new Date(Date.parse(manifest.machine.date)).toISOString();
  const capturePaths: { from: string; to: string }[] = [];
  const scenarios: ScenarioResult[] = manifest.scenarios.map((scenario, s) => {
    const connections = scenario.connections ?? manifest.load.connections;
    const repetitions: Repetition[] = scenario.captures.map((_, c) => {
      const { path, text } = texts.get(`${s}:${c}`)!;
      const rawOutputPath = rawPathFor(outDir, path, `${scenario.id}-r${c + 1}`);
      capturePaths.push({ from: path, to: rawOutputPath });
      const inFlight = manifest.load.durationSeconds !== undefined ? connections : 0;
      const parsed = adapter.parse(text, '', undefined, {
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
    return {
      id: scenario.id,
      scenarioId: scenario.id,
      compareAs: scenario.compareAs ?? null,
      point: {
        workers: scenario.workers ?? manifest.machine.logicalCores,
        connections,
        serverCpus: null,
        loadCpus: null,
        accept: null,
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
    };
  });
  summarizeAll(scenarios);
  const connectionsOf = (baseline: boolean) => [
    ...new Set(
      manifest.scenarios
        .filter((s) => s.baseline === baseline)
        .map((s) => s.connections ?? manifest.load.connections),
    ),
  ];
  const baselineConnections = connectionsOf(true);
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
    environment: {
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
    },
    hosts: [],
    tuning: [],
    topology: {
      pinned: false,
      serverCpus: null,
      loadCpus: null,
      serverCpuQuotaCores: null,
      description: 'as run by hand (imported): pinning unknown',
    },
    plan: {
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
    },
    scenarios,
    stopping: [],
    scaling: scalingCurves(scenarios),
    warnings: [
      `imported from ${manifest.scenarios.reduce((n, s) => n + s.captures.length, 0)} captures of ${manifest.tool} run by hand on ${m.hostname}; the environment is what the manifest says`,
      ...manifest.notes,
    ],
  };
  // Validates: a manifest that decodes can still describe results the schema refuses.
  serializeResults(results);
  return { results, captures: capturePaths };
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
  for (const { from, to } of captures) {
    if (resolve(outDir, to) === from) continue;
    await mkdir(dirname(join(outDir, to)), { recursive: true });
    await copyFile(from, join(outDir, to));
  }
  await writeFileAtomic(join(outDir, 'results.json'), serializeResults(results));
  return results;
}
