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

  // The defect: overrides were merged after validation, so a flag could make a profile that
  // ProfileSchema refuses (a ±200% target) and the run went ahead with it.
  it('refuses what the profiles file would refuse, whichever layer set it', () => {
    expect(() => settings({ 'target-ci': '200' })).toThrow(/^--target-ci: Too big/);
    expect(() => settings({ profile: 'smoke', 'server-quota': '5000' })).toThrow(/^--server-quota: Too big/);
  });
});
