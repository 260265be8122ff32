import { type Profile, UsageError } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { createDefaultDeps } from '../../src/deps.ts';
import type { BenchOptions, RunnerDeps } from '../../src/ports.ts';
import { planRun } from '../../src/steps/plan.ts';
import { loadProfiles, loadSuite } from '../../src/suite-files.ts';

const suite = await loadSuite();
const profiles = await loadProfiles();
const deps = await createDefaultDeps();
const openloopFound = (await deps.detectTools()).some((t) => t.name === 'openloop' && t.missing === null);

function options(profile: Profile, tool?: BenchOptions['tool']): BenchOptions {
  return {
    suite,
    scenarios: suite.scenarios.filter((s) => s.id === '2a' || s.id === 'nginx-2'),
    profileName: 'latency',
    profile,
    tool,
    outDir: '/nonexistent',
    argv: [],
    runId: 'test',
    scaleupVersion: '0',
    repoDir: '.',
    signal: new AbortController().signal,
    onEvent: () => {},
  };
}

/** This machine's tools as they are, except openloop, read as a machine without its build would. */
const withoutOpenloop: RunnerDeps = {
  ...deps,
  async detectTools() {
    return (await deps.detectTools()).map((t) =>
      t.name === 'openloop'
        ? { ...t, version: null, path: null, missing: 'openloop is not built; install: pnpm build:openloop' }
        : t,
    );
  },
};

describe('planning a rate sweep (nothing starts)', () => {
  it('refuses with one line when openloop is missing, before anything is made', async () => {
    const refusal = await planRun(options(profiles.latency!), withoutOpenloop, null).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toBe(
      "--rates needs openloop, scaleup's constant-rate tool: openloop is not built; install: pnpm build:openloop",
    );
    // A closed-loop run does not need it.
    const closed = await planRun(options(profiles.smoke!), withoutOpenloop, null);
    expect(closed.rateTool).toBeNull();
  });

  it.skipIf(!openloopFound)(
    'warms up with a closed-loop tool and measures with openloop, even when --tool openloop',
    async () => {
      for (const forced of [undefined, 'openloop'] as const) {
        const run = await planRun(options(profiles.latency!, forced), deps, null);
        expect(run.toolName).not.toBe('openloop');
        expect(run.tool.name).toBe(run.toolName);
        expect(run.rateTool?.name).toBe('openloop');
        expect(run.plan.rates?.map((r) => r.text)).toEqual(['10%', '25%', '50%', '75%', '90%']);
        expect(run.plan.groups[0]!.instances.map((i) => i.id)).toContain('2a@r90%');
      }
    },
  );
});
