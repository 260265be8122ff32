import { UsageError } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { parseServerArgs, SERVER_USAGE, supportsReusePort } from '../src/options.ts';

const env = { cpus: 2 };

describe('parseServerArgs', () => {
  it('has the seed-compatible defaults', () => {
    expect(parseServerArgs([], env)).toEqual({
      port: 8080,
      host: '0.0.0.0',
      workers: 2,
      backlog: 8192,
      resource: 'file',
      payloadBytes: 40,
      root: undefined,
      silence: false,
      intervalSeconds: 5,
      statsFile: undefined,
      accept: 'shared',
      send: 'auto',
      engine: 'net',
      perfMap: false,
      headerTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 75,
    });
  });

  it('keeps idle keep-alive connections at least 60 s by default', () => {
    const options = parseServerArgs([], env);
    expect(options !== 'help' && options.keepAliveTimeoutSeconds).toBeGreaterThanOrEqual(60);
  });

  it('reads every option', () => {
    const options = parseServerArgs(
      [
        '--port=9000',
        '--host',
        '127.0.0.1',
        '--workers',
        '3',
        '--backlog',
        '1000',
        '--resource',
        'fixed',
        '--payload',
        '10000',
        '--silence',
        '--interval',
        '0.5',
        '--stats-file',
        '/tmp/s.json',
        '--accept',
        'rr',
        '--header-timeout',
        '1',
        '--request-timeout',
        '2.5',
        '--keepalive-timeout',
        '60',
        '--engine',
        'http',
        '--perf-basic-prof',
      ],
      env,
    );
    expect(options).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      workers: 3,
      backlog: 1000,
      resource: 'fixed',
      payloadBytes: 10000,
      silence: true,
      intervalSeconds: 0.5,
      statsFile: '/tmp/s.json',
      accept: 'rr',
      headerTimeoutSeconds: 1,
      requestTimeoutSeconds: 2.5,
      keepAliveTimeoutSeconds: 60,
      engine: 'http',
      perfMap: true,
    });
    expect(parseServerArgs(['--root', '/srv'], env)).toMatchObject({ root: '/srv', resource: 'file' });
    expect(parseServerArgs(['--interval', '0'], env)).toMatchObject({ intervalSeconds: 0 });
  });

  it('returns help for -h and --help, and the usage names every option', () => {
    expect(parseServerArgs(['-h'], env)).toBe('help');
    expect(parseServerArgs(['--port', '1', '--help'], env)).toBe('help');
    for (const option of [
      '--port',
      '--host',
      '--workers',
      '--backlog',
      '--resource',
      '--payload',
      '--root',
      '--silence',
      '--interval',
      '--stats-file',
      '--accept',
      '--engine',
      '--perf-basic-prof',
    ]) {
      expect(SERVER_USAGE).toContain(option);
    }
  });

  it.each([
    [['--port', '70000'], /--port/],
    [['--port', 'abc'], /--port/],
    [['--workers', '0'], /--workers/],
    [['--workers', '1.5'], /--workers/],
    [['--backlog', '0'], /--backlog/],
    [['--resource', 'static'], /--resource must be one of file, data, fixed/],
    [['--accept', 'magic'], /--accept must be one of shared, rr, reuseport/],
    [['--engine', 'express'], /--engine must be one of net, http/],
    [['--payload', '-1'], /--payload/],
    [['--interval', 'soon'], /--interval/],
    [['--interval', '0.01'], /--interval/],
    [['--header-timeout', '0'], /--header-timeout/],
    [['--resource', 'fixed', '--root', '/srv'], /--root only applies to --resource file/],
    [['--bogus'], /bogus/],
    [['--port'], /port/],
    [['extra'], /extra/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseServerArgs(argv, env)).toThrow(UsageError);
    expect(() => parseServerArgs(argv, env)).toThrow(message);
  });

  it('accepts reuseport on any Node: the native addon opens the sockets where net cannot', () => {
    expect(parseServerArgs(['--accept', 'reuseport'], env)).toMatchObject({ accept: 'reuseport' });
    expect(SERVER_USAGE).toContain('SO_REUSEPORT');
    expect(SERVER_USAGE).toContain('pnpm build:native');
  });
});

describe('supportsReusePort', () => {
  it.each([
    ['20.20.2', false],
    ['22.11.0', false],
    ['22.12.0', true],
    ['23.0.0', false],
    ['23.1.0', true],
    ['24.0.0', true],
  ])('%s -> %s', (version, expected) => {
    expect(supportsReusePort(version)).toBe(expected);
  });
});
