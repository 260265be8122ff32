import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fillPlaceholders,
  parseProfiles,
  parseSuite,
  ScenarioError,
  selectScenarios,
} from '../src/scenario.ts';

const repoFile = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../scenarios/${name}`, import.meta.url), 'utf8'));

describe('the shipped suite and profiles', () => {
  it('decode cleanly and hold the seed matrix', () => {
    const suite = parseSuite(repoFile('seed.json'), 'scenarios/seed.json');
    expect(suite.scenarios.map((s) => s.id)).toEqual(['1a', '1b', 'nginx-1', '2a', '2b', 'nginx-2']);
    const profiles = parseProfiles(repoFile('profiles.json'), 'scenarios/profiles.json').profiles;
    expect(profiles.seed).toMatchObject({
      requests: 1000000,
      connections: 4000,
      threads: 4,
      keepAlive: true,
      baselineConnections: 1000,
      pinning: 'none',
    });
    expect(Object.keys(profiles)).toEqual(
      expect.arrayContaining(['seed', 'default', 'server-bound', 'smoke']),
    );
    // server-bound is the default with the servers capped at a fixed quota instead of a
    // calibrated one, nothing else changed.
    const { serverCpuQuotaCores, description: _, ...rest } = profiles['server-bound']!;
    const { description: __, calibrate, ...defaults } = profiles.default!;
    expect(serverCpuQuotaCores).toBe(0.6);
    expect(calibrate).toBe(true);
    expect(rest).toEqual(defaults);
  });

  it('hold the zero-copy comparison: each 10 kB server with sendfile and with write() only', () => {
    const suite = parseSuite(repoFile('zero-copy.json'), 'scenarios/zero-copy.json');
    const sends = suite.scenarios.map((s) => [s.id, s.server.kind === 'scaleup' ? s.server.send : null]);
    expect(sends).toEqual([
      ['1a', 'auto'],
      ['1a-write', 'write'],
      ['1b', 'auto'],
      ['1b-write', 'write'],
      ['nginx-1', null],
    ]);
    expect(new Set(suite.scenarios.map((s) => s.payloadBytes))).toEqual(new Set([10000]));
  });
});

describe('strict decoding', () => {
  it('reports every problem at once with its field', () => {
    const raw = {
      suite: 'bad',
      extra: true,
      scenarios: [
        {
          id: 'a',
          label: 'A',
          payloadBytes: -1,
          server: { kind: 'scaleup', resource: 'disk', send: 'splice' },
        },
        { id: 'a', label: 'B', payloadBytes: 40, server: { kind: 'nginx', colour: 'red' } },
      ],
    };
    let error: unknown;
    try {
      parseSuite(raw, 'my.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const problems = (error as ScenarioError).problems.join('\n');
    expect(problems).toMatch(/\(root\).*extra/);
    expect(problems).toMatch(/scenarios\.0\.payloadBytes/);
    expect(problems).toMatch(/scenarios\.0\.server\.resource/);
    expect(problems).toMatch(/scenarios\.0\.server\.send/);
    expect(problems).toMatch(/scenarios\.1\.server.*colour/);
    expect((error as Error).message).toMatch(/^my\.json: /);
  });

  it('finds duplicate ids and double baselines', () => {
    const scenario = (id: string) => ({
      id,
      label: id,
      payloadBytes: 40,
      baseline: true,
      server: { kind: 'nginx' },
    });
    expect(() => parseSuite({ suite: 's', scenarios: [scenario('x'), scenario('x')] }, 'f')).toThrow(
      /duplicate id 'x'.*2 baselines/,
    );
  });

  it('requires exactly one of requests and durationSeconds', () => {
    const base = {
      description: 'd',
      tools: ['wrk'],
      connections: 4,
      threads: 1,
      repetitions: 1,
      warmupRuns: 0,
      warmupSeconds: 0,
      pinning: 'none',
      workers: 'auto',
      nginxPreset: 'stock',
    };
    expect(() => parseProfiles({ profiles: { p: base } }, 'f')).toThrow(
      /exactly one of requests and durationSeconds/,
    );
    expect(() =>
      parseProfiles({ profiles: { p: { ...base, requests: 10, durationSeconds: 1 } } }, 'f'),
    ).toThrow(/exactly one/);
    expect(() => parseProfiles({ profiles: { p: { ...base, requests: 10, threads: 8 } } }, 'f')).toThrow(
      /fewer connections than threads/,
    );
  });
});

describe('the 2013 suite', () => {
  it("holds the seed's matrix three times: Twisted on PyPy, scaleup, and a stock nginx", () => {
    const suite = parseSuite(repoFile('seed-2013/suite.json'), 'scenarios/seed-2013/suite.json');
    expect(suite.profile).toBe('seed-2013');
    expect(suite.scenarios.map((s) => s.id)).toEqual([
      'tw-1a',
      'tw-1b',
      '1a',
      '1b',
      'nginx-1',
      'tw-2a',
      'tw-2b',
      '2a',
      '2b',
      'nginx-2',
    ]);
    const twisted = suite.scenarios.find((s) => s.id === 'tw-1b')!.server;
    expect(twisted).toMatchObject({
      kind: 'command',
      install: expect.stringMatching(/apt-get install pypy3 python3-twisted/),
    });
    expect(twisted.kind === 'command' && twisted.command.slice(0, 2)).toEqual([
      'pypy3',
      'scenarios/seed-2013/twisted_server.py',
    ]);
    expect(suite.scenarios.filter((s) => s.baseline).map((s) => s.server)).toEqual([
      { kind: 'nginx', preset: 'stock' },
      { kind: 'nginx', preset: 'stock' },
    ]);
  });
});

describe('scenario selection and placeholders', () => {
  const suite = parseSuite(repoFile('seed.json'), 'seed.json');

  it('refuses unknown --only ids, naming them', () => {
    expect(() => selectScenarios(suite, ['1a', '9z'])).toThrow(/unknown scenario 9z/);
  });

  it('fills placeholders and refuses unknown ones', () => {
    expect(fillPlaceholders('--port={port} --payload {payload}', { port: 8081, payload: 40 })).toBe(
      '--port=8081 --payload 40',
    );
    expect(() => fillPlaceholders('{nope}', {})).toThrow(/unknown placeholder \{nope\}/);
  });
});

describe('the engines suite', () => {
  it('puts engine net, engine http and nginx side by side at 10 kB and 40 B; engine defaults to net', () => {
    const suite = parseSuite(repoFile('engines.json'), 'scenarios/engines.json');
    const servers = suite.scenarios.map((s) => [
      s.payloadBytes,
      s.server.kind === 'scaleup' ? s.server.engine : s.server.kind,
    ]);
    expect(servers).toEqual([
      [10000, 'net'],
      [10000, 'http'],
      [10000, 'nginx'],
      [40, 'net'],
      [40, 'http'],
      [40, 'nginx'],
    ]);
    const seed = parseSuite(repoFile('seed.json'), 'scenarios/seed.json');
    expect(seed.scenarios[0]?.server).toMatchObject({ kind: 'scaleup', engine: 'net' });
    const withEngine = (engine: string) => ({
      suite: 'x',
      scenarios: [
        { id: 'a', label: 'a', payloadBytes: 40, server: { kind: 'scaleup', resource: 'fixed', engine } },
      ],
    });
    expect(parseSuite(withEngine('http'), 'x.json').scenarios[0]?.server).toMatchObject({ engine: 'http' });
    expect(() => parseSuite(withEngine('express'), 'x.json')).toThrow(/engine/);
  });
});
