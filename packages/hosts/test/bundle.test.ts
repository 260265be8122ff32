import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bundle, buildBundle, localPlatform, shipmentFor } from '../src/index.ts';

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

  it('holds the CLI, the worker, the group leader and the wrk script', () => {
    expect(bundle.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['scaleup.mjs', 'worker-main.mjs', 'group-leader.mjs', 'wrk-summary.lua']),
    );
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

  it('sends the native addon only to a host of the same arch and C library', () => {
    const here = shipmentFor(bundle, localPlatform());
    const other = shipmentFor(bundle, 'arm64-musl');
    expect(other.withAddon).toBe(false);
    expect(other.files.some((f) => f.native)).toBe(false);
    expect(other.hash).toBe(bundle.hash);
    if (bundle.files.some((f) => f.native)) {
      expect(here.withAddon).toBe(true);
      expect(here.hash).not.toBe(other.hash);
    }
  });
});
