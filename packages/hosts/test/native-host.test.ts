import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setHash, sha256 } from '../src/bundle.ts';
import {
  type Bundle,
  type BundleFile,
  type InstalledBundle,
  localHost,
  type NativeJob,
  nativeBuildPath,
  nativeOnHost,
} from '../src/index.ts';

/**
 * The build-on-host step with this machine as the host: the script and the compiler are the
 * real ones (the namespace tests run them over ssh on bare hosts); here the failures are easy
 * to make.
 */
const GOOD = '#include <stdio.h>\nint main(void) { puts("hello 1.2"); return 0; }\n';
const BROKEN = 'int main(void) { return missing_symbol_here; }\n';

describe('native builds on a host', () => {
  let root: string;
  const host = localHost();

  /**
   * A bundle and its install on the "host", holding `source` as hello.c and, when given,
   * `shipped` as a program built elsewhere.
   */
  function installedWith(source: string, shipped?: string): { bundle: Bundle; installed: InstalledBundle } {
    const file: BundleFile = { name: 'hello.c', sha256: sha256(source), bytes: source.length, native: false };
    const files = [file];
    if (shipped !== undefined)
      files.push({ name: 'hello', sha256: sha256(shipped), bytes: shipped.length, native: true });
    const hash = setHash(files);
    const dir = join(root, hash);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hello.c'), source);
    if (shipped !== undefined) writeFileSync(join(dir, 'hello'), shipped, { mode: 0o755 });
    const shipment = { hash, files, withAddon: false, withOpenloop: false };
    const bundle: Bundle = { dir, hash, files, platform: 'x64-glibc', autocannonVersion: '0.0.0' };
    return {
      bundle,
      installed: {
        ...{ platform: 'riscv64-musl', root, shipment, cached: true, dir, copiedBytes: 0 },
        cache: { bundles: 1, bytes: 0, pruned: { entries: 0, bytes: 0 } },
      },
    };
  }

  const job: NativeJob = {
    name: 'hello',
    what: 'hello',
    sources: ['hello.c'],
    compile: (output, dir) => ['-O2', '-Wall', '-Werror', '-o', output, `${dir}/hello.c`],
    check: 'version',
    needs: ['cc'],
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'scaleup-native-host-'));
  });
  afterAll(async () => {
    await host.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('builds from the shipped source once, keyed by it, and checks that the program runs', async () => {
    const { bundle, installed } = installedWith(GOOD);
    const context = { distribution: 'debian', root: true };
    const [first] = await nativeOnHost(host, bundle, installed, [job], context);
    expect(first).toMatchObject({ origin: 'built', version: 'hello 1.2', problem: null });
    expect(first!.path).toBe(nativeBuildPath(bundle, installed, job));
    expect(first!.path).toMatch(new RegExp(`^${root}/native/[0-9a-f]{64}/hello$`));
    const builtAt = statSync(first!.path!).mtimeMs;
    const [again] = await nativeOnHost(host, bundle, installed, [job], context);
    expect(again).toMatchObject({ path: first!.path, origin: 'built', buildSeconds: 0 });
    expect(statSync(first!.path!).mtimeMs).toBe(builtAt);
    // Another source is another build, beside the first.
    const other = installedWith(GOOD.replace('1.2', '1.3'));
    expect(nativeBuildPath(other.bundle, other.installed, job)).not.toBe(first!.path);
  }, 60_000);

  it('a build that fails is the compiler’s error line and the install line, not an exception', async () => {
    const { bundle, installed } = installedWith(BROKEN);
    const [result] = await nativeOnHost(host, bundle, installed, [job], {
      distribution: 'debian',
      root: false,
    });
    expect(result!.path).toBeNull();
    expect(result!.problem).toMatch(/^local: no hello \(a build there: .*error.*missing_symbol_here/);
    expect(result!.installLine).toBe('sudo apt-get install -y gcc libc6-dev');
  }, 60_000);

  it('runs a shipped build that works there; one that does not falls through to a build', async () => {
    const context = { distribution: 'debian', root: true };
    const works = installedWith(GOOD, '#!/bin/sh\necho hello shipped\n');
    const [shipped] = await nativeOnHost(host, works.bundle, works.installed, [job], context);
    expect(shipped).toMatchObject({
      origin: 'shipped',
      version: 'hello shipped',
      path: `${works.installed.dir}/hello`,
    });
    // As a build against a newer C library than the host's fails to start.
    const stale = installedWith(GOOD.replace('1.2', '1.4'), '#!/nonexistent/interpreter\n');
    const [rebuilt] = await nativeOnHost(host, stale.bundle, stale.installed, [job], context);
    expect(rebuilt).toMatchObject({ origin: 'built', version: 'hello 1.4', problem: null });
    expect(rebuilt!.path).toBe(nativeBuildPath(stale.bundle, stale.installed, job));
  }, 60_000);
});
