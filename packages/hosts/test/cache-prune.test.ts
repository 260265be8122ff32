import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bundle,
  buildBundle,
  type CacheEntry,
  cacheEntriesToPrune,
  type Host,
  installBundle,
  localHost,
  openRunDir,
  probeBundle,
} from '../src/index.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 3, 12);
const hash = (c: string) => c.repeat(64);
const bundleAt = (c: string, days: number): CacheEntry => ({ name: hash(c), mtimeMs: NOW - days * DAY });

describe('the bundle cache prune rule', () => {
  it('removes a bundle only when it is both older than 14 days and beyond the newest 3', () => {
    const entries = [
      bundleAt('a', 20),
      bundleAt('b', 30),
      bundleAt('c', 40),
      bundleAt('d', 50),
      bundleAt('e', 60),
    ];
    expect(cacheEntriesToPrune(entries, [], NOW).sort()).toEqual([hash('d'), hash('e')]);
    // Young ones stay, however many.
    const young = ['a', 'b', 'c', 'd', 'e'].map((c, i) => bundleAt(c, 1 + i * 3));
    expect(cacheEntriesToPrune(young, [], NOW)).toEqual([]);
    // Beyond the newest 3 but used 13 days ago: kept.
    const recent = [bundleAt('a', 1), bundleAt('b', 2), bundleAt('c', 3)];
    expect(cacheEntriesToPrune([...recent, bundleAt('f', 13)], [], NOW)).toEqual([]);
    expect(cacheEntriesToPrune([...recent, bundleAt('f', 15)], [], NOW)).toEqual([hash('f')]);
  });

  it('never removes what is being installed or used now, even the oldest', () => {
    const entries = ['a', 'b', 'c', 'd'].map((c, i) => bundleAt(c, 100 + i));
    expect(cacheEntriesToPrune(entries, [hash('d')], NOW)).toEqual([]);
    expect(cacheEntriesToPrune(entries, [], NOW)).toEqual([hash('d')]);
  });

  it('removes an installer’s temporary directory only when its PID is gone and it is over an hour old', () => {
    const tmp = (pid: number, ageMs: number, live: boolean): CacheEntry => ({
      name: `${hash('a')}.tmp-${pid}`,
      mtimeMs: NOW - ageMs,
      live,
    });
    expect(cacheEntriesToPrune([tmp(10, 30 * DAY, true)], [], NOW)).toEqual([]);
    expect(cacheEntriesToPrune([tmp(11, 60_000, false)], [], NOW)).toEqual([]);
    expect(cacheEntriesToPrune([tmp(12, 2 * 3_600_000, false)], [], NOW)).toEqual([`${hash('a')}.tmp-12`]);
  });

  it('leaves whatever else is in the cache root alone', () => {
    const old = NOW - 400 * DAY;
    const others = ['native', 'bundles', 'runs', 'A'.repeat(64), `${hash('a')}x`, `${hash('a')}.tmp-x`].map(
      (name) => ({ name, mtimeMs: old }),
    );
    expect(cacheEntriesToPrune([...others, ...['a', 'b', 'c'].map((c) => bundleAt(c, 30))], [], NOW)).toEqual(
      [],
    );
  });
});

/**
 * The rule as the host's bare node runs it, inside the real installer script: a local host
 * whose cache root (XDG_CACHE_HOME) is a directory of this test's.
 */
describe('the installer prunes the cache on a host', () => {
  let work: string;
  let bundle: Bundle;
  let host: Host;
  const saved = process.env.XDG_CACHE_HOME;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'scaleup-cache-prune-'));
    bundle = await buildBundle({ cacheDir: join(work, 'built') });
    process.env.XDG_CACHE_HOME = join(work, 'xdg');
    host = localHost();
  }, 60_000);

  afterAll(async () => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    await host?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** An old cache entry holding `bytes` bytes, last used `days` ago. */
  function oldEntry(root: string, name: string, days: number, bytes = 1000): void {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, 'scaleup.mjs'), 'x'.repeat(bytes));
    const at = new Date(Date.now() - days * DAY);
    utimesSync(join(root, name), at, at);
  }

  it('prunes old bundles beyond the newest 3 and a dead installer’s leftovers; says what and how much', async () => {
    const root = join(work, 'xdg', 'scaleup');
    for (const [c, days] of [
      ['1', 30],
      ['2', 40],
      ['3', 50],
      ['4', 60],
    ] as const)
      oldEntry(root, hash(c), days);
    // A PID that has exited: this test's own child, reaped.
    const dead = spawnSync('true').pid!;
    oldEntry(root, `${hash('5')}.tmp-${dead}`, 1, 500);
    oldEntry(root, `${hash('6')}.tmp-${process.pid}`, 30, 700);
    oldEntry(root, 'native', 90, 300);

    const probe = await probeBundle(host, bundle);
    // A probe changes nothing; it says what the cache holds and what a run would prune.
    expect(probe.cache).toEqual({
      bundles: 4,
      bytes: 4 * 1000 + 500 + 700 + 300,
      pruned: { entries: 2, bytes: 1500 },
    });
    expect(readdirSync(root)).toHaveLength(7);

    const installed = await installBundle(host, bundle);
    expect(installed.copiedBytes).toBeGreaterThan(100_000);
    // Kept: the one installed (newest), the two most recently used, the live installer's temp
    // directory, native/. Gone: the bundles used 50 and 60 days ago, the dead installer's.
    expect(readdirSync(root).sort()).toEqual(
      [installed.shipment.hash, hash('1'), hash('2'), `${hash('6')}.tmp-${process.pid}`, 'native'].sort(),
    );
    expect(installed.cache.pruned).toEqual({ entries: 3, bytes: 2500 });
    expect(installed.cache.bundles).toBe(3);
    expect(installed.cache.bytes).toBe(installed.copiedBytes + 2000 + 700 + 300);

    // A run touches the bundle it uses: aged past the limit, it is still the newest.
    const at = new Date(Date.now() - 100 * DAY);
    utimesSync(installed.dir, at, at);
    const again = await installBundle(host, bundle);
    expect(again.copiedBytes).toBe(0);
    expect(again.cache.pruned).toEqual({ entries: 0, bytes: 0 });
    expect(existsSync(installed.dir)).toBe(true);
    // Now the newest of all: the 40-day-old bundle is beyond the newest 3 and goes.
    oldEntry(root, hash('7'), 20);
    const third = await installBundle(host, bundle);
    expect(third.cache.pruned).toEqual({ entries: 1, bytes: 1000 });
    expect(existsSync(join(root, hash('2')))).toBe(false);
  }, 60_000);

  it('the last run directory out removes the runs parent; runs opening meanwhile survive it', async () => {
    const tmpDir = join(work, 'tmp');
    mkdirSync(tmpDir);
    const parent = join(tmpDir, `scaleup-runs-${process.getuid!()}`);
    const first = await openRunDir(host, 30_000, { tmpDir });
    const second = await openRunDir(host, 30_000, { tmpDir });
    await first.close();
    expect(readdirSync(parent)).toEqual([second.dir.split('/').at(-1)]);
    await second.close();
    expect(existsSync(parent)).toBe(false);
    // Keepers starting while others leave (each may remove the parent under another's mkdir).
    const closing = openRunDir(host, 30_000, { tmpDir }).then((run) => run.close());
    const runs = await Promise.all([1, 2, 3].map(() => openRunDir(host, 30_000, { tmpDir })));
    await closing;
    for (const run of runs) expect(existsSync(run.dir)).toBe(true);
    await Promise.all(runs.map((run) => run.close()));
    expect(existsSync(parent)).toBe(false);
  }, 60_000);
});
