import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResults, type ResultsFile } from '@scaleup/core';
import { waitFor } from '@scaleup/core/io';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  type NetnsLab,
  netnsSkipReason,
  type TestNamespace,
} from '../../hosts/test/support/netns.ts';
import type { HostCheck } from '../src/host-check.ts';
import { REPO_DIR, scaleupCliCommand } from '../src/servers.ts';

/**
 * Hosts that have only ssh, node and the tools: each namespace's sshd runs in a mount namespace
 * where this checkout, the global node_modules and root's home are empty, so whatever runs
 * there comes from the bundle the harness ships. Two load hosts and a server host, as in a lab.
 */
const skip = netnsSkipReason();
const BARE = { hide: [REPO_DIR, '/usr/lib/node_modules', '/root'] };
let lab: NetnsLab;
const dirs: string[] = [];

beforeAll(async () => {
  if (skip !== null) return;
  lab = await createLab([
    BARE,
    BARE,
    BARE,
    { ...BARE, mask: ['/usr/bin/node'] },
    { ...BARE, mask: ['/usr/bin/wrk'] },
  ]);
}, 120_000);
afterAll(() => lab?.teardown());
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-bundle-e2e-'));
  dirs.push(dir);
  return dir;
}

function bench(args: string[]) {
  const cli = scaleupCliCommand([
    ...['bench', '--profile', 'smoke', '--only', '2a,nginx-2', '--reps', '1', '--no-report'],
    ...['--ssh-config', lab.sshConfig, ...args],
  ]);
  return execa(cli.file, cli.args, { reject: false, timeout: 240_000 });
}

async function resultsIn(dir: string): Promise<ResultsFile> {
  return parseResults(await readFile(join(dir, 'results.json'), 'utf8'));
}

/**
 * Run directories made since `sinceMs` whose keeper is gone: what a run left behind. (The hosts
 * share this machine's /tmp, so other test files' live runs may be there too.)
 */
function runDirsLeft(ns: TestNamespace, sinceMs: number): string[] {
  const runs = `/proc/${ns.sshdPid}/root/tmp/scaleup-runs-0`;
  if (!existsSync(runs)) return [];
  return readdirSync(runs).filter((run) => {
    try {
      if (statSync(join(runs, run)).mtimeMs < sinceMs - 1000) return false;
      const keeper = Number(readFileSync(join(runs, run, '.keeper'), 'utf8'));
      return !existsSync(`/proc/${keeper}`);
    } catch {
      return false;
    }
  });
}

/** Processes inside the namespace besides its sshd. */
function processesIn(ns: TestNamespace): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === ns.sshdPid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === ns.netnsId) found.push(entry);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

async function nothingLeftOn(hosts: TestNamespace[], sinceMs: number): Promise<void> {
  await waitFor(async () => (hosts.every((ns) => processesIn(ns).length === 0) ? true : undefined), {
    timeoutMs: 15_000,
    what: 'every remote process to be gone',
  });
  for (const ns of hosts) expect(runDirsLeft(ns, sinceMs), ns.alias).toEqual([]);
}

describe.skipIf(skip !== null)(`bare hosts get a bundle${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  it('two load hosts and a server host without the checkout: the run succeeds, a second copies nothing', async () => {
    const [a, b, c] = lab.namespaces as [TestNamespace, TestNamespace, TestNamespace];
    const hostArgs = [
      '--load-host',
      a.alias,
      '--load-host',
      b.alias,
      '--server-host',
      c.alias,
      '--tool',
      'wrk',
    ];
    const timings: string[] = [];
    const runs: ResultsFile[] = [];
    for (const round of ['cold', 'warm']) {
      const out = await tempDir();
      const started = Date.now();
      const run = await bench([...hostArgs, '--out', out]);
      expect(run.exitCode, run.stderr).toBe(0);
      const results = await resultsIn(out);
      runs.push(results);
      for (const s of results.scenarios) {
        expect(s.serverHost).toBe(c.alias);
        for (const rep of s.repetitions) {
          expect(rep.verdict.reasons, s.id).toEqual([]);
          expect(rep.load.hosts?.map((h) => h.host)).toEqual([a.alias, b.alias]);
        }
      }
      timings.push(`${round} cache: run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await nothingLeftOn([a, b, c], started);
    }
    const [cold, warm] = runs as [ResultsFile, ResultsFile];
    for (const host of cold.hosts) {
      expect(host.code?.kind, host.name).toBe('bundle');
      expect(host.code?.version, host.name).toMatch(/^[0-9a-f]{64}$/);
      expect(host.code?.copiedBytes, host.name).toBeGreaterThan(100_000);
    }
    for (const host of warm.hosts) {
      expect(host.code?.copiedBytes, host.name).toBe(0);
      expect(host.code?.version).toBe(cold.hosts.find((h) => h.name === host.name)?.code?.version);
    }
    // Same platform here: the server host got the native addon.
    expect(cold.hosts.find((h) => h.name === c.alias)?.code?.zeroCopyAddon).toBe(true);
    console.log(timings.join('\n'));
  }, 600_000);

  it('SIGINT mid-run on bare hosts: exit 130, and no process or run directory is left on them', async () => {
    const [a, b] = lab.namespaces as [TestNamespace, TestNamespace];
    const out = await tempDir();
    const started = Date.now();
    const cli = scaleupCliCommand([
      ...['bench', '--profile', 'smoke', '--only', '2a', '--duration', '5', '--reps', '5', '--no-report'],
      ...['--ssh-config', lab.sshConfig, '--load-host', a.alias, '--load-host', b.alias, '--out', out],
    ]);
    const child = execa(cli.file, cli.args, { reject: false, timeout: 240_000 });
    try {
      // A measured repetition's tool runs on the first host: the run directories are in use.
      await waitFor(
        async () =>
          processesIn(a).some((pid) => {
            try {
              return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('wrk');
            } catch {
              return false;
            }
          }) && existsSync(join(out, 'results.json'))
            ? true
            : undefined,
        { timeoutMs: 120_000, intervalMs: 100, what: 'the load tool running on the first host' },
      );
      child.kill('SIGINT');
      const run = await child;
      expect(run.exitCode, run.stderr).toBe(130);
      await nothingLeftOn([a, b], started);
    } finally {
      child.kill('SIGKILL');
    }
  }, 300_000);

  it('hosts check: per host what is there and what a run would copy; a host without node says how to install it', async () => {
    const [a, , , noNode] = lab.namespaces as TestNamespace[];
    const cli = scaleupCliCommand([
      'hosts',
      'check',
      a!.alias,
      noNode!.alias,
      '--ssh-config',
      lab.sshConfig,
      '--json',
    ]);
    const run = await execa(cli.file, cli.args, { reject: false, timeout: 120_000 });
    expect(run.exitCode, run.stderr).toBe(1);
    const [ready, bare] = JSON.parse(run.stdout) as HostCheck[];
    expect(ready).toMatchObject({
      host: a!.alias,
      reachable: true,
      problems: [],
      nodeVersion: process.version,
    });
    expect(ready!.tools.wrk?.path).toBe('/usr/bin/wrk');
    expect(ready!.clockOffsetMs).not.toBeNull();
    // Whether the first test left it there or not, it is the bundle a run would send.
    expect(ready!.copy?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(ready!.copy?.bytes).toBeGreaterThan(100_000);
    expect(ready!.copy?.zeroCopyAddon).toBe(true);
    expect(bare!.reachable).toBe(true);
    expect(bare!.problems.join('\n')).toContain('node not found on PATH');
    expect(bare!.installLine).toBe('apt-get install -y nodejs');
    expect(bare!.copy).toBeNull();
    const text = await execa(cli.file, cli.args.slice(0, -1), { reject: false, timeout: 120_000 });
    expect(text.stdout).toContain(`${a!.alias}: reachable`);
    expect(text.stdout).toMatch(/copy {9}(nothing: its cache has|\d+ KiB in \d+ files:) bundle [0-9a-f]{12}/);
    const bad = scaleupCliCommand(['hosts', 'check']);
    expect((await execa(bad.file, bad.args, { reject: false })).exitCode).toBe(2);
  }, 120_000);

  it('hosts without node or without the forced tool: every problem at once with its install line, exit 2', async () => {
    const [, , , noNode, noWrk] = lab.namespaces as TestNamespace[];
    const out = join(await tempDir(), 'run');
    const run = await bench([
      '--load-host',
      noNode!.alias,
      '--load-host',
      noWrk!.alias,
      '--tool',
      'wrk',
      '--out',
      out,
    ]);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${noNode!.alias}: node not found on PATH`);
    expect(run.stderr).toContain(
      `${noNode!.alias}: install what is missing there with: apt-get install -y nodejs`,
    );
    expect(run.stderr).toContain(`${noWrk!.alias}: wrk not found on PATH`);
    expect(run.stderr).toContain(
      `${noWrk!.alias}: install what is missing there with: apt-get install -y wrk`,
    );
    expect(existsSync(join(out, 'results.json'))).toBe(false);
    expect(runDirsLeft(noWrk!, 0)).toEqual([]);
  }, 120_000);
});
