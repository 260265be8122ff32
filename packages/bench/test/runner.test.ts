import type { Scenario, ScenarioResult } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { zeroCopyWarning } from '../src/runner.ts';

const scenario = (payloadBytes: number): Scenario => ({
  id: '1a',
  label: 'scaleup fixed resource',
  payloadBytes,
  server: { kind: 'scaleup', resource: 'fixed', accept: 'shared', backlog: 8192, send: 'auto' },
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
