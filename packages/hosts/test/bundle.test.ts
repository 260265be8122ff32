import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLE_ADDON,
  BUNDLE_OPENLOOP,
  type Bundle,
  buildBundle,
  localPlatform,
  nativeModeFromEnv,
  shipmentFor,
} from '../src/index.ts';

describe('the bundle of the remote side', () => {
  let cache: string;
  let bundle: Bundle;

  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'scaleup-bundle-unit-'));
    bundle = await buildBundle({ cacheDir: cache });
  }, 60_000);
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('is the same bytes from the same sources, so a host that has it is sent nothing', async () => {
    const again = await buildBundle({ cacheDir: cache });
    expect(again.hash).toBe(bundle.hash);
    expect(again.dir).toBe(join(cache, bundle.hash));
    expect(readdirSync(cache)).toEqual([bundle.hash]);
  }, 60_000);

  it('holds the CLI, the worker, the group leader, the wrk script, autocannon and the C sources', () => {
    expect(bundle.files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        ...['scaleup.mjs', 'worker-main.mjs', 'group-leader.mjs', 'wrk-summary.lua'],
        ...['autocannon-child.mjs', 'worker.js', 'autocannon-verify-body.cjs'],
        ...['openloop.c', 'zerocopy.c', 'node_api.h', 'js_native_api.h'],
      ]),
    );
    expect(bundle.autocannonVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('runs with a bare node from a directory with no node_modules anywhere above it', () => {
    const bare = mkdtempSync('/tmp/scaleup-bare-');
    try {
      cpSync(bundle.dir, bare, { recursive: true });
      const help = (command: string) =>
        execFileSync(process.execPath, [join(bare, 'scaleup.mjs'), command, '--help'], {
          cwd: bare,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        });
      expect(help('load')).toMatch(/usage/);
      expect(help('server')).toMatch(/usage/);
      expect(help('nginx')).toMatch(/usage/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('sends the native addon and openloop only to a host of the same arch and C library', () => {
    const here = shipmentFor(bundle, localPlatform());
    const other = shipmentFor(bundle, 'arm64-musl');
    expect(other.withAddon).toBe(false);
    expect(other.withOpenloop).toBe(false);
    expect(other.files.some((f) => f.native)).toBe(false);
    expect(other.hash).toBe(bundle.hash);
    const built = bundle.files.filter((f) => f.native).map((f) => f.name);
    expect(here.withAddon).toBe(built.includes(BUNDLE_ADDON));
    expect(here.withOpenloop).toBe(built.includes(BUNDLE_OPENLOOP));
    if (built.length > 0) expect(here.hash).not.toBe(other.hash);
    // SCALEUP_BUNDLE_NATIVE=build: even a matching host builds its own.
    expect(shipmentFor(bundle, localPlatform(), 'build')).toEqual(other);
  });

  it('SCALEUP_BUNDLE_NATIVE is auto (the default) or build, and nothing else', () => {
    expect(nativeModeFromEnv({})).toBe('auto');
    expect(nativeModeFromEnv({ SCALEUP_BUNDLE_NATIVE: ' build ' })).toBe('build');
    expect(nativeModeFromEnv({ SCALEUP_BUNDLE_NATIVE: 'auto' })).toBe('auto');
    expect(() => nativeModeFromEnv({ SCALEUP_BUNDLE_NATIVE: 'ship' })).toThrow(
      `SCALEUP_BUNDLE_NATIVE must be 'auto' or 'build', not "ship"`,
    );
  });

  it('runs autocannon with worker threads and its body check from a bare copy', async () => {
    const bare = mkdtempSync('/tmp/scaleup-bare-');
    let served = 0;
    const server = createServer((_req, res) => {
      served += 1;
      res.end('x'.repeat(64));
    });
    try {
      cpSync(bundle.dir, bare, { recursive: true });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const load = (bytes: number) =>
        execa(
          process.execPath,
          [
            ...[join(bare, 'scaleup.mjs'), 'load', '--tool', 'autocannon', '--json', '-k', '-d', '0.5'],
            ...['-c', '2', '-t', '2', '--expect-bytes', String(bytes), '--max-failed', '100', url],
          ],
          { cwd: bare, reject: false, env, extendEnv: false, timeout: 60_000 },
        );
      const right = await load(64);
      expect(right.exitCode, right.stderr).toBe(0);
      const ok = JSON.parse(right.stdout) as {
        tool: string;
        requests: { succeeded: number; failed: number };
      };
      expect(ok.tool).toBe('autocannon');
      expect(ok.requests.succeeded).toBeGreaterThan(0);
      expect(ok.requests.failed).toBe(0);
      expect(served).toBeGreaterThanOrEqual(ok.requests.succeeded);
      // The body check runs in the worker threads too: a size no response has fails them all.
      const wrong = await load(63);
      const bad = JSON.parse(wrong.stdout) as { requests: { succeeded: number; failed: number } };
      expect(bad.requests.succeeded).toBe(0);
      expect(bad.requests.failed).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(bare, { recursive: true, force: true });
    }
  }, 120_000);
});
