import { loadProfiles, loadSuite } from '@scaleup/bench';
import type { Profile, Suite } from '@scaleup/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/commands/bench-settings.ts';

let suite: Suite;
let profiles: Record<string, Profile>;
beforeAll(async () => {
  suite = await loadSuite();
  profiles = await loadProfiles();
});

const settings = (
  flags: Record<string, string | boolean | string[] | undefined>,
  over: Partial<Suite> = {},
) => resolveSettings({ ...suite, ...over }, profiles, flags);

describe('bench settings: suite, profile and flags in one chain, validated once', () => {
  it('takes the profile the flags name, else the suite names, else default', () => {
    expect(settings({}).profileName).toBe('default');
    expect(settings({}, { profile: 'smoke' }).profileName).toBe('smoke');
    expect(settings({ profile: 'seed' }, { profile: 'smoke' }).profileName).toBe('seed');
  });

  it('lets a flag override the profile, and a mode flag drop the profile mode it replaces', () => {
    const { profile } = settings({
      profile: 'seed',
      requests: '500',
      connections: '8',
      'no-adaptive': undefined,
    });
    expect(profile.requests).toBe(500);
    expect(profile.durationSeconds).toBeUndefined();
    expect(profile.connections).toBe(8);
    // The seed gave nginx its own 1000 connections; --connections is for every server.
    expect(profile.baselineConnections).toBeUndefined();
    const fixed = settings({ adaptive: false }).profile;
    expect(fixed.targetCiPercent).toBeUndefined();
    expect(fixed.timeBudgetSeconds).toBeUndefined();
    expect(settings({ adaptive: false, 'target-ci': '3' }).profile.targetCiPercent).toBe(3);
  });

  it('calibrates with the default profile; --no-calibrate keeps the split, --calibrate asks for it', () => {
    expect(settings({}).profile.calibrate).toBe(true);
    expect(settings({ calibrate: false }).profile.calibrate).toBe(false);
    expect(settings({ profile: 'smoke' }).profile.calibrate).toBeUndefined();
    expect(settings({ profile: 'smoke', calibrate: true }).profile.calibrate).toBe(true);
  });

  it('merges hosts: the command line over the profile over the suite', () => {
    const withHosts = { hosts: { load: ['lab-a'], server: 'lab-s', sshConfig: 'lab.conf' } };
    const fromSuite = settings({}, withHosts).remote;
    expect(fromSuite).toMatchObject({ loadHosts: ['lab-a'], serverHost: 'lab-s' });
    expect(fromSuite.sshConfig).toMatch(/\/lab\.conf$/);
    const flagged = settings({ 'load-host': ['b1', 'b2'] }, withHosts).remote;
    expect(flagged).toMatchObject({ loadHosts: ['b1', 'b2'], serverHost: 'lab-s' });
    expect(settings({}).remote).toEqual({
      loadHosts: [],
      serverHost: null,
      sshConfig: undefined,
      remoteDir: undefined,
      serverAddress: undefined,
    });
  });

  it.each([
    [{ 'max-reps': '2', reps: '3', 'target-ci': '5' }, '--max-reps (2) is below --reps (3)'],
    [
      { adaptive: false, 'time-budget': '60' },
      '--max-reps and --time-budget bound adaptive repetitions: give --target-ci too',
    ],
    [
      { profile: 'smoke', threads: '32' },
      'fewer --connections than --threads: --connections (16) is below --threads (32)',
    ],
    [{ 'load-host': ['a', 'a'] }, '--load-host names a host twice: a, a'],
    [{ requests: '10', duration: '1' }, '--requests and --duration exclude each other'],
  ])('refuses %j in the flags own words', (flags, message) => {
    expect(() => settings(flags)).toThrow(message);
  });

  it('takes --rates and --slo (repeatable or comma-separated) over the profile, words as written', () => {
    const { profile } = settings({ rates: '25%, 50%,20k', slo: ['p99=10ms,p99.9=50ms', 'max=1s'] });
    expect(profile.rates).toEqual(['25%', '50%', '20k']);
    expect(profile.slo).toEqual(['p99=10ms', 'p99.9=50ms', 'max=1s']);
    const latency = settings({ profile: 'latency' }).profile;
    expect(latency.rates).toEqual(['10%', '25%', '50%', '75%', '90%']);
    expect(latency.slo).toEqual(['p99=1ms', 'p99=10ms']);
    expect(settings({ profile: 'latency', rates: '10k' }).profile.rates).toEqual(['10k']);
    expect(settings({}).profile.rates).toBeUndefined();
  });

  it('says every bad rate and objective at once, in one line, each with its value', () => {
    let message = '';
    try {
      settings({ rates: '0%,fast,50%,50%', slo: ['p99=10', 'p101=1ms'] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toHaveLength(1);
    for (const part of [
      'rate "0%": a share of capacity must be above 0%',
      'rate "fast": give a share of capacity (75%) or responses per second (20000, 20k)',
      '--rates names a rate twice: 50%',
      'slo "p99=10": write it as a percentile and a bound',
      'slo "p101=1ms": the percentile must be above 0 and at most 100',
    ]) {
      expect(message).toContain(part);
    }
    expect(() => settings({ slo: ['p99=1ms'] })).toThrow(
      '--slo is judged over a rate sweep: give --rates too',
    );
    expect(() => settings({ profile: 'seed', rates: '50%' })).toThrow(
      '--rates run open loop for a duration: give --duration, not --requests',
    );
  });

  // The defect: overrides were merged after validation, so a flag could make a profile that
  // ProfileSchema refuses (a ±200% target) and the run went ahead with it.
  it('refuses what the profiles file would refuse, whichever layer set it', () => {
    expect(() => settings({ 'target-ci': '200' })).toThrow(/^--target-ci: Too big/);
    expect(() => settings({ profile: 'smoke', 'server-quota': '5000' })).toThrow(/^--server-quota: Too big/);
  });
});
