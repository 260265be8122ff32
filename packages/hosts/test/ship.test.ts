import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@scaleup/core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bundle,
  buildBundle,
  installBundle,
  openRunDir,
  probeBundle,
  type SshHost,
  sshHost,
} from '../src/index.ts';
import { REPO_DIR as REPO_DIR_FOR_TESTS } from '../src/protocol.ts';
import { createLab, type NetnsLab, netnsSkipReason, type TestNamespace } from './support/netns.ts';

const skip = netnsSkipReason();

/**
 * The bundle shipped to a bare host: its sshd runs in a mount namespace where the checkout,
 * the global node_modules and root's home are empty directories, so only the system's node and
 * tools are there. Its files are looked at through /proc/<sshd>/root, the host's own view.
 */
describe.skipIf(skip !== null)(`bundle shipped over ssh${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  let lab: NetnsLab;
  let ns: TestNamespace;
  let host: SshHost;
  let bundle: Bundle;
  let cache: string;
  const onHost = (path: string) => `/proc/${ns.sshdPid}/root${path}`;

  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'scaleup-bundle-test-'));
    lab = await createLab([{ hide: [REPO_DIR_FOR_TESTS, '/usr/lib/node_modules', '/root'] }]);
    ns = lab.namespaces[0]!;
    host = sshHost(ns.alias, { sshConfig: lab.sshConfig });
    bundle = await buildBundle({ cacheDir: cache });
  }, 120_000);

  afterAll(async () => {
    try {
      await host?.close();
    } finally {
      lab?.teardown();
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('the host really is bare: no checkout there, and no group leader from one', async () => {
    const listed = await host.shell(`ls -A ${REPO_DIR_FOR_TESTS} | wc -l; ls -A /root | wc -l`);
    expect(listed.stdout.split('\n').slice(0, 2)).toEqual(['0', '0']);
    const leader = await host.exec('true', []);
    expect(leader.exitCode).not.toBe(0);
  });

  it('copies the bundle once, verified there; a second install copies nothing', async () => {
    const before = await probeBundle(host, bundle);
    expect(before.cached).toBe(false);
    expect(before.platform).toBe(bundle.platform);
    const first = await installBundle(host, bundle);
    expect(first.copiedBytes).toBe(first.shipment.files.reduce((sum, f) => sum + f.bytes, 0));
    expect(first.copiedBytes).toBeGreaterThan(100_000);
    expect(first.dir).toBe(`/root/.cache/scaleup/${first.shipment.hash}`);
    expect(readdirSync(onHost(first.dir)).sort()).toEqual(first.shipment.files.map((f) => f.name).sort());
    const second = await installBundle(host, bundle);
    expect(second.copiedBytes).toBe(0);
    expect(second.dir).toBe(first.dir);
    // The leader now runs from the bundle: commands work on the bare host.
    const ran = await host.exec('uname', ['-n']);
    expect(ran.exitCode).toBe(0);
  }, 60_000);

  it('a damaged copy on the host fails verification and is sent again', async () => {
    const installed = await installBundle(host, bundle);
    writeFileSync(onHost(`${installed.dir}/scaleup.mjs`), 'tampered');
    expect((await probeBundle(host, bundle)).cached).toBe(false);
    const again = await installBundle(host, bundle);
    expect(again.copiedBytes).toBeGreaterThan(0);
    expect((await probeBundle(host, bundle)).cached).toBe(true);
  }, 60_000);

  it('a run directory goes when the run closes it, and the next run sweeps a dead run’s', async () => {
    await installBundle(host, bundle);
    const runs = onHost('/tmp/scaleup-runs-0');
    // A run whose keeper was SIGKILLed with everything else: a pid no process has.
    mkdirSync(join(runs, 'run-dead'), { recursive: true });
    writeFileSync(join(runs, 'run-dead', '.keeper'), '2147483');
    writeFileSync(join(runs, 'run-dead', 'stats.json'), '{}');
    // Without a keeper file and older than a minute: a run that died while starting.
    mkdirSync(join(runs, 'run-stillborn'), { recursive: true });
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(runs, 'run-stillborn'), old, old);
    const run = await openRunDir(host);
    const id = run.dir.split('/').at(-1)!;
    expect(run.dir).toBe(`/tmp/scaleup-runs-0/${id}`);
    // Other test files' runs may live beside it (the namespaces share /tmp).
    expect(readdirSync(runs)).toContain(id);
    expect(readdirSync(runs)).not.toContain('run-dead');
    expect(readdirSync(runs)).not.toContain('run-stillborn');
    await host.exec('touch', [`${run.dir}/work-file`]);
    expect(existsSync(onHost(`${run.dir}/work-file`))).toBe(true);
    await run.close();
    expect(existsSync(join(runs, id))).toBe(false);
    // The last run out takes the parent too; another test file's live run may still hold it.
    if (existsSync(runs)) expect(readdirSync(runs).length).toBeGreaterThan(0);
  }, 60_000);

  it('a lost connection removes the run directory on the host', async () => {
    const other = sshHost(ns.alias, { sshConfig: lab.sshConfig, heartbeatTimeoutMs: 2000 });
    try {
      await installBundle(other, bundle);
      const run = await openRunDir(other);
      expect(existsSync(onHost(run.dir))).toBe(true);
      // Ctrl-C or a dead harness look the same from the host: the session ends.
      const ssh = execFileSync('pgrep', ['-f', `ControlPath=${other.controlPath}`], {
        encoding: 'utf8',
      });
      for (const pid of ssh.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      await waitFor(async () => (existsSync(onHost(run.dir)) ? undefined : true), {
        timeoutMs: 15_000,
        what: 'the run directory to be removed on the host',
      });
    } finally {
      await other.close();
    }
  }, 60_000);
});
