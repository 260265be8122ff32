import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFolded, parseResults, type ScenarioResult, selectScenarios } from '@scaleup/core';
import { detectPerf, PERF_INSTALL } from '@scaleup/driver';
import { afterEach, describe, expect, it } from 'vitest';
import { createDefaultDeps } from '../src/deps.ts';
import type { BenchEvent, BenchOptions, RunnerDeps } from '../src/ports.ts';
import { runBench } from '../src/runner.ts';
import { REPO_DIR } from '../src/servers.ts';
import { loadProfiles, loadSuite } from '../src/suite-files.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * A short real run (the smoke profile: 1 s repetitions, 16 connections) of our server and nginx
 * at 40 B. runBench stops every server it started, whatever happens.
 */
async function shortRun(
  ids: string[],
  cpuProfile: BenchOptions['cpuProfile'],
  deps: RunnerDeps,
  suitePath?: string,
) {
  const outDir = await mkdtemp(join(tmpdir(), 'scaleup-cpu-profile-'));
  dirs.push(outDir);
  const suite = await loadSuite(suitePath);
  const profile = { ...(await loadProfiles()).smoke!, repetitions: 2, warmupRuns: 1 };
  const events: BenchEvent[] = [];
  const results = await runBench(
    {
      suite,
      scenarios: selectScenarios(suite, ids),
      profileName: 'smoke',
      profile,
      tool: undefined,
      outDir,
      argv: [],
      runId: 'cpu-profile',
      scaleupVersion: '0.0.0',
      repoDir: REPO_DIR,
      signal: new AbortController().signal,
      onEvent: (event) => events.push(event),
      cpuProfile,
    },
    deps,
  );
  return { outDir, results, events };
}

const byId = (scenarios: ScenarioResult[], id: string) => scenarios.find((s) => s.id === id)!;

async function foldedOf(outDir: string, relative: string) {
  return parseFolded(await readFile(join(outDir, relative), 'utf8'));
}

const perf = await detectPerf();

describe('bench --cpu-profile', () => {
  it.runIf(perf.ok)(
    'profiles every server (and the tool) in an uncounted repetition, stored as folded stacks and in results.json',
    async () => {
      const { outDir, results, events } = await shortRun(
        ['2a', 'nginx-2'],
        'tool',
        await createDefaultDeps(),
      );
      // Read back through the schema, as every reader does.
      const stored = parseResults(await readFile(join(outDir, 'results.json'), 'utf8'));
      for (const id of ['2a', 'nginx-2']) {
        const result = byId(stored.scenarios, id);
        expect(result.skipped).toBeNull();
        expect(result.profileProblem).toBeNull();
        const profile = result.profile!;
        expect(profile).toMatchObject({ folded: `profiles/${id}.folded`, event: 'cpu-clock', sampleHz: 999 });
        const stacks = await foldedOf(outDir, profile.folded);
        expect(profile.samples).toBeGreaterThan(0);
        expect(stacks.reduce((sum, s) => sum + s.samples, 0)).toBe(profile.samples);
        expect(profile.breakdown.samples).toBe(profile.samples);
        expect(profile.breakdown.kernelFraction).toBeGreaterThan(0);
        expect(stacks.some((s) => s.frames.some((f) => f.endsWith('_[k]')))).toBe(true);
        // The profiled repetition is none of the counted ones: the plan's two rounds, each raw
        // file its round's, and the profiled run's raw output beside them.
        expect(result.repetitions.map((r) => r.round)).toEqual([0, 1]);
        expect(result.summary?.requestsPerSecond?.n).toBe(2);
        expect(existsSync(join(outDir, 'raw', `${id}-profile.txt`))).toBe(true);
        const tool = profile.tool!;
        expect(tool.folded).toBe(`profiles/${id}.tool.folded`);
        const toolStacks = await foldedOf(outDir, tool.folded);
        expect(toolStacks.reduce((sum, s) => sum + s.samples, 0)).toBe(tool.samples);
        expect(tool.breakdown.threads.map((t) => t.name)).toContain(stored.plan.tool);
      }
      // Our workers ran with --perf-basic-prof: JIT frames are named from their perf maps.
      const ours = byId(stored.scenarios, '2a').profile!;
      const ourStacks = await foldedOf(outDir, ours.folded);
      expect(ourStacks.some((s) => s.frames.some((f) => f.startsWith('JS:') && f.endsWith('_[j]')))).toBe(
        true,
      );
      expect(ours.breakdown.javascriptFraction).toBeGreaterThan(0);
      expect(byId(stored.scenarios, 'nginx-2').profile!.breakdown.threads.map((t) => t.name)).toContain(
        'nginx',
      );
      // One profile event per scenario, after its last measured repetition.
      const profiled = events.filter((e) => e.type === 'profile').map((e) => e.scenarioId);
      expect(profiled.sort()).toEqual(['2a', 'nginx-2']);
      const lastRep = events.findLastIndex((e) => e.type === 'rep-done');
      expect(events.findIndex((e) => e.type === 'profile')).toBeGreaterThan(lastRep);
      expect(results.complete).toBe(true);
    },
    240_000,
  );

  it.runIf(perf.ok)(
    "profiles a command server's whole process tree (the example Python server)",
    async () => {
      const suitePath = join(REPO_DIR, 'scenarios/examples/custom-server.json');
      const { outDir, results } = await shortRun(
        ['python-stdlib'],
        'server',
        await createDefaultDeps(),
        suitePath,
      );
      const python = byId(results.scenarios, 'python-stdlib');
      expect(python.profileProblem).toBeNull();
      const profile = python.profile!;
      expect(profile.breakdown.threads.map((t) => t.name)).toContain('python3');
      const stacks = await foldedOf(outDir, 'profiles/python-stdlib.folded');
      expect(stacks.some((s) => s.frames.includes('_PyEval_EvalFrameDefault'))).toBe(true);
      expect(python.repetitions).toHaveLength(2);
    },
    120_000,
  );

  it('goes on without profiles, saying so once with the install command, when perf is unavailable', async () => {
    const deps = await createDefaultDeps();
    // Detection answers as on a machine without perf; server, nginx and load tool are real.
    deps.detectPerf = async () => ({ ok: false, problem: 'perf is not installed', fix: PERF_INSTALL });
    const { outDir, results, events } = await shortRun(['2a'], 'server', deps);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    const line = `CPU profiles not recorded: perf is not installed: ${PERF_INSTALL}`;
    expect(warnings.filter((w) => w.includes('CPU profiles'))).toEqual([line]);
    expect(results.warnings).toContain(line);
    const ours = byId(results.scenarios, '2a');
    expect(ours.repetitions).toHaveLength(2);
    expect(ours.profile).toBeNull();
    expect(ours.profileProblem).toBe(line);
    expect(existsSync(join(outDir, 'profiles'))).toBe(false);
    expect(existsSync(join(outDir, 'raw', '2a-profile.txt'))).toBe(false);
    expect(results.complete).toBe(true);
  }, 120_000);
});
