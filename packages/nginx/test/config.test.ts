import { UsageError } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import {
  type NginxConfigOptions,
  renderNginxConfig,
  workerConnectionsFor,
  workerRlimitFor,
} from '../src/config.ts';

const base: NginxConfigOptions = {
  prefix: '/tmp/scaleup-nginx-TEST',
  host: '127.0.0.1',
  port: 8090,
  payloadBytes: 40,
  workers: 2,
  connections: 1000,
  user: { name: 'www-data', group: 'www-data' },
  nofileLimit: 20000,
};

describe('renderNginxConfig', () => {
  it('renders the stock preset', async () => {
    const { text } = renderNginxConfig({ ...base, preset: 'stock' });
    await expect(text).toMatchFileSnapshot('./fixtures/stock.conf');
  });

  it('renders the tuned preset', async () => {
    const { text } = renderNginxConfig({ ...base, preset: 'tuned', reuseport: true, backlog: 4096 });
    await expect(text).toMatchFileSnapshot('./fixtures/tuned.conf');
  });

  it('records every value it writes in the settings', async () => {
    const { settings } = renderNginxConfig({ ...base, preset: 'tuned', cpus: [1] });
    await expect(`${JSON.stringify(settings, null, 2)}\n`).toMatchFileSnapshot(
      './fixtures/tuned.settings.json',
    );
  });

  it('is pure: the same options give the same bytes', () => {
    expect(renderNginxConfig(base)).toEqual(renderNginxConfig(base));
  });

  it('keeps the seed-era values in stock: clients reconnect every 100 requests', () => {
    const { settings, text } = renderNginxConfig(base);
    expect(settings.preset).toBe('stock');
    expect(settings.keepaliveRequests).toBe(100);
    expect(settings.keepaliveTimeoutSeconds).toBe(65);
    expect(settings.sendfile).toBe(true);
    expect(text).toContain('keepalive_requests 100;');
  });

  it('never makes a tuned run reconnect', () => {
    const { settings } = renderNginxConfig({ ...base, preset: 'tuned' });
    expect(settings.keepaliveRequests).toBeGreaterThanOrEqual(10_000_000);
    expect(settings.openFileCache).not.toBe('off');
  });

  it('puts every path inside the prefix', () => {
    const { text, settings } = renderNginxConfig(base);
    const paths = text.match(/(?<=\s)\/[^\s;]+/g) ?? [];
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) expect(path.startsWith(`${settings.prefix}/`)).toBe(true);
    expect(text).toContain('access_log off;');
    expect(text).toContain('daemon off;');
    expect(text).toContain('master_process on;');
  });

  it('lays out a document root holding the payload as bytes of *', () => {
    const { layout } = renderNginxConfig({ ...base, payloadBytes: 10_000 });
    const index = layout.find((entry) => entry.path === 'html/index.html');
    expect(index).toEqual({ kind: 'file', path: 'html/index.html', content: '*'.repeat(10_000) });
    const config = layout.find((entry) => entry.path === 'conf/nginx.conf');
    expect(config?.kind).toBe('file');
  });

  it('sizes worker connections and the file limit for the run', () => {
    expect(workerConnectionsFor(10)).toBe(1024);
    expect(workerConnectionsFor(4000)).toBe(8064);
    expect(workerRlimitFor(8064)).toBe(16128);
    expect(workerRlimitFor(8064, 10000)).toBe(10000);
    const { settings, text } = renderNginxConfig({ ...base, connections: 4000 });
    expect(settings.workerConnections).toBe(8064);
    expect(settings.workerRlimitNofile).toBe(16128);
    expect(text).toContain('worker_connections 8064;');
    expect(text).toContain('worker_rlimit_nofile 16128;');
  });

  it('writes no user directive for an ordinary user', () => {
    const { text, settings } = renderNginxConfig({ ...base, user: undefined });
    expect(text).not.toMatch(/^user /m);
    expect(settings.user).toBeNull();
  });

  it('brackets IPv6 addresses and adds reuseport on request', () => {
    const { settings } = renderNginxConfig({ ...base, host: '::1', reuseport: true, backlog: 1000 });
    expect(settings.listen).toBe('[::1]:8090 default_server backlog=1000 reuseport');
  });

  it('appends extra directives to their context and records them', () => {
    const { text, settings } = renderNginxConfig({
      ...base,
      extraDirectives: { http: ['bogus_directive on;'] },
    });
    expect(text).toContain('    bogus_directive on;\n');
    expect(settings.extraDirectives.http).toEqual(['bogus_directive on;']);
  });

  it.each([
    [{ workers: 0 }, /workers/],
    [{ payloadBytes: -1 }, /payload/],
    [{ port: 70000 }, /port/],
    [{ preset: 'fast' as never }, /preset/],
    [{ prefix: 'relative/dir' }, /absolute/],
    [{ prefix: '/tmp/with space' }, /prefix/],
    [{ host: 'a;b' }, /host/],
    [{ extraDirectives: { http: ['a;\nb;'] } }, /one line/],
  ])('rejects bad input %o with a UsageError', (override, message) => {
    expect(() => renderNginxConfig({ ...base, ...override })).toThrow(UsageError);
    expect(() => renderNginxConfig({ ...base, ...override })).toThrow(message);
  });
});
