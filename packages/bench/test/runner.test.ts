import type { Repetition, Scenario, ScenarioResult } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { saturatedToolWarnings, stealWarning, zeroCopyWarning } from '../src/warnings.ts';
import { loadResult } from './helpers.ts';

const scenario = (payloadBytes: number): Scenario => ({
  id: '1a',
  label: 'scaleup fixed resource',
  payloadBytes,
  server: {
    kind: 'scaleup',
    resource: 'fixed',
    accept: 'shared',
    backlog: 8192,
    send: 'auto',
    engine: 'net',
  },
  baseline: false,
});

const scaleup = (send: 'auto' | 'write', zeroCopy: boolean): ScenarioResult['server'] => ({
  kind: 'scaleup',
  resource: 'fixed',
  accept: 'shared',
  workers: 1,
  backlog: 8192,
  send,
  zeroCopy,
});

describe('zeroCopyWarning', () => {
  it('warns when large responses fell back to write() although sendfile was asked for', () => {
    expect(zeroCopyWarning(scenario(10_000), scaleup('auto', false))).toBe(
      '1a: the server sent its 10000 B responses with write(), not sendfile: the zero-copy addon is not built or did not load (pnpm build:native; the server log says why)',
    );
  });

  it('stays quiet when sendfile was used, when write() was chosen, and below the sendfile size', () => {
    expect(zeroCopyWarning(scenario(10_000), scaleup('auto', true))).toBeNull();
    expect(zeroCopyWarning(scenario(10_000), scaleup('write', false))).toBeNull();
    expect(zeroCopyWarning(scenario(40), scaleup('auto', false))).toBeNull();
    expect(
      zeroCopyWarning(scenario(10_000), { kind: 'command', command: ['python3'], cwd: null }),
    ).toBeNull();
  });
});

describe('saturated load tool', () => {
  it('warns when the tool ran flat out in most repetitions, naming the scenario', () => {
    const flatOut = (round: number, utilisation: number) =>
      ({
        round,
        load: loadResult({ toolCpu: { userSeconds: 1, systemSeconds: 4, cores: 1, utilisation } }),
      }) as unknown as Repetition;
    const scenario = (id: string, reps: Repetition[]) =>
      ({ id, repetitions: reps }) as unknown as ScenarioResult;
    const warnings = saturatedToolWarnings([
      scenario('1a', [flatOut(0, 0.95), flatOut(1, 0.97), flatOut(2, 0.5)]),
      scenario('nginx-1', [flatOut(0, 0.95), flatOut(1, 0.5), flatOut(2, 0.5)]),
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^1a: the load tool used >= 90% of its cores in 2 of 3 repetitions/);
  });
});

describe('a noisy virtual machine', () => {
  it('says how much CPU time the hypervisor took, when it took any worth saying', () => {
    const reps = (steal: (number | null)[]) =>
      ({ id: 'x', repetitions: steal.map((s) => ({ stealFraction: s })) }) as unknown as ScenarioResult;
    expect(stealWarning([reps([0, 0.001, null])])).toBeNull();
    expect(stealWarning([reps([0.01, 0.08, 0.02])])).toMatch(
      /^the hypervisor took CPU time from this machine during the run \(steal: median 2\.0%, up to 8\.0% of a repetition\)/,
    );
    expect(stealWarning([reps([null])])).toBeNull();
  });
});
