import type { LoadSpec } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { hostSpec, remoteLoadArgs, splitEvenly } from '../src/remote-load.ts';

const OPEN_LOOP: LoadSpec = {
  url: 'http://127.0.0.1:8080/x',
  durationSeconds: 2,
  connections: 10,
  threads: 2,
  keepAlive: true,
  method: 'GET',
  headers: {},
  timeoutSeconds: 30,
  ratePerSecond: 9000,
  maxConnections: 1000,
};

describe('open-loop load over several hosts', () => {
  it('gives each host its share of the offered rate and of the connection bound', () => {
    const shares = splitEvenly(OPEN_LOOP.connections, 3);
    const specs = shares.map((connections) =>
      hostSpec(OPEN_LOOP, '198.18.1.1', { connections, requests: undefined, hosts: 3 }),
    );
    expect(specs.map((s) => s.ratePerSecond)).toEqual([3000, 3000, 3000]);
    expect(specs.map((s) => s.maxConnections)).toEqual([334, 334, 334]);
    expect(specs.map((s) => s.connections)).toEqual([4, 3, 3]);
    expect(specs[0]!.url).toBe('http://198.18.1.1:8080/x');
  });

  it('never bounds a host below the connections it opens', () => {
    const spec = hostSpec({ ...OPEN_LOOP, maxConnections: 4 }, '198.18.1.1', {
      connections: 5,
      requests: undefined,
      hosts: 2,
    });
    expect(spec.maxConnections).toBe(5);
  });

  it('hands the rate and the bound to the remote scaleup load', () => {
    const args = remoteLoadArgs(
      'openloop',
      hostSpec(OPEN_LOOP, '::1', { connections: 5, requests: undefined, hosts: 2 }),
    );
    expect(args.slice(args.indexOf('--rate'), args.indexOf('--rate') + 2)).toEqual(['--rate', '4500']);
    expect(args.slice(args.indexOf('--max-connections'), args.indexOf('--max-connections') + 2)).toEqual([
      '--max-connections',
      '500',
    ]);
    expect(args.at(-1)).toBe('http://[::1]:8080/x');
  });

  it('leaves a closed-loop spec without a rate', () => {
    const { ratePerSecond: _, maxConnections: __, ...closed } = OPEN_LOOP;
    const args = remoteLoadArgs(
      'wrk',
      hostSpec(closed, '198.18.1.1', { connections: 5, requests: undefined, hosts: 2 }),
    );
    expect(args).not.toContain('--rate');
    expect(args).not.toContain('--max-connections');
  });
});
