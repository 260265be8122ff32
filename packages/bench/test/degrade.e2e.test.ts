import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectScenarios } from '@scaleup/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createDefaultDeps } from '../src/deps.ts';
import { runBench } from '../src/runner.ts';
import { REPO_DIR } from '../src/servers.ts';
import { loadProfiles, loadSuite } from '../src/suite-files.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('missing pieces degrade clearly', () => {
  it('skips nginx scenarios with the reason and install command when nginx is absent, and runs the rest', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'scaleup-degrade-'));
    dirs.push(outDir);
    const deps = await createDefaultDeps();
    // The real runner, server and load tool; only nginx's detection answers as on a machine without it.
    deps.nginx = {
      ...deps.nginx,
      detect: async () => ({
        version: null,
        path: null,
        missing: 'nginx not found; install: apt-get install nginx-light',
      }),
    };
    const suite = await loadSuite();
    const profile = { ...(await loadProfiles()).smoke!, repetitions: 1 };
    const events: string[] = [];
    const results = await runBench(
      {
        suite,
        scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
        profileName: 'smoke',
        profile,
        tool: undefined,
        outDir,
        argv: [],
        runId: 'degrade',
        scaleupVersion: '0.0.0',
        repoDir: REPO_DIR,
        signal: new AbortController().signal,
        onEvent: (event) => events.push(event.type),
      },
      deps,
    );
    const nginx = results.scenarios.find((s) => s.id === 'nginx-2')!;
    const ours = results.scenarios.find((s) => s.id === '2a')!;
    expect(nginx.skipped).toMatch(/nginx skipped: .*apt-get install nginx-light/);
    expect(nginx.repetitions).toEqual([]);
    expect(ours.skipped).toBeNull();
    expect(ours.repetitions).toHaveLength(1);
    expect(ours.repetitions[0]!.verdict.valid).toBe(true);
    expect(ours.summary?.ratioToBaseline).toBeNull();
    expect(results.complete).toBe(true);
    expect(events).toContain('scenario-skipped');
  }, 120_000);
});
