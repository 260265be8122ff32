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

/** The runs parent on the host: left there empty, it is litter the last keeper should have taken. */
function runsParentOf(ns: TestNamespace): string {
  return `/proc/${ns.sshdPid}/root/tmp/scaleup-runs-0`;
}

async function nothingLeftOn(hosts: TestNamespace[], sinceMs: number): Promise<void> {
  await waitFor(async () => (hosts.every((ns) => processesIn(ns).length === 0) ? true : undefined), {
    timeoutMs: 15_000,
    what: 'every remote process to be gone',
  });
  for (const ns of hosts) expect(runDirsLeft(ns, sinceMs), ns.alias).toEqual([]);
  // The hosts share this machine's /tmp: another live run may hold the parent (then it is not
  // empty) or be making it this instant (empty for a moment), so only a lasting empty one fails.
  for (const ns of hosts) {
    const parent = runsParentOf(ns);
    await waitFor(async () => (!existsSync(parent) || readdirSync(parent).length > 0 ? true : undefined), {
      timeoutMs: 5_000,
      what: `${ns.alias}: the empty ${parent.replace(/^\/proc\/\d+\/root/, '')} to be removed by the last run`,
    });
  }
}

/** The sshd processes serving the harness's connections to the host (not its listener). */
function sshSessionsOf(ns: TestNamespace): number[] {
  return processesIn(ns)
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('sshd');
      } catch {
        return false;
      }
    });
}

/** The run directories on the host whose keeper runs in that host's namespace. */
function runDirsOf(ns: TestNamespace): string[] {
  const parent = runsParentOf(ns);
  if (!existsSync(parent)) return [];
  const mine = new Set(processesIn(ns));
  return readdirSync(parent).filter((run) => {
    try {
      return mine.has(readFileSync(join(parent, run, '.keeper'), 'utf8').trim());
    } catch {
      return false;
    }
  });
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
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
      const firstRep = Math.min(
        ...results.scenarios.flatMap((s) => s.repetitions.map((r) => Date.parse(r.startedAt))),
      );
      timings.push(
        `${round} cache: first measured repetition after ${((firstRep - started) / 1000).toFixed(1)} s, ` +
          `run took ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
          `${results.hosts.reduce((sum, h) => sum + (h.code?.copiedBytes ?? 0), 0)} bytes copied`,
      );
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

  it('a cut link to a host that loads and serves: the repetition is invalid naming it, and nothing of the run stays there', async () => {
    const [a, b] = lab.namespaces as [TestNamespace, TestNamespace];
    const out = await tempDir();
    const started = Date.now();
    const cli = scaleupCliCommand([
      ...['bench', '--profile', 'smoke', '--only', '2a', '--duration', '4', '--reps', '1', '--no-report'],
      ...['--ssh-config', lab.sshConfig, '--load-host', a.alias, '--load-host', b.alias],
      ...['--server-host', a.alias, '--tool', 'wrk', '--out', out],
    ]);
    const child = execa(cli.file, cli.args, { reject: false, timeout: 240_000, all: true });
    let output = '';
    child.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      // Past the warm-up, the measured repetition's wrk runs on the host: leader, keeper, the
      // server and the load tool are all there now.
      await waitFor(async () => (/2a: warm-up 1/.test(output) ? true : undefined), {
        timeoutMs: 150_000,
        intervalMs: 100,
        what: 'the warm-up to finish',
      }).catch((error: Error) => {
        throw new Error(`${error.message} (output: ${output.slice(-2000)})`);
      });
      await waitFor(
        async () => (processesIn(a).some((pid) => /(^|\/)wrk /.test(commandOf(pid))) ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 50, what: 'wrk running on the host' },
      );
      const runDirs = runDirsOf(a);
      expect(runDirs).toHaveLength(1);
      const sessions = sshSessionsOf(a);
      const ran = processesIn(a).filter((pid) => !sessions.includes(Number(pid)));
      const commands = ran.map(commandOf).join('\n');
      for (const part of ['group-leader.mjs', 'scaleup.mjs load', 'scaleup.mjs server', 'wrk '])
        expect(commands).toContain(part);
      expect(sessions.length).toBeGreaterThan(0);
      const cutAt = Date.now();
      for (const pid of sessions) process.kill(pid, 'SIGKILL');
      // Everything the run had there goes with the link, and its run directory with its keeper.
      await waitFor(async () => (ran.some((pid) => existsSync(`/proc/${pid}`)) ? undefined : true), {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: `the run's processes on ${a.alias} to be gone`,
      }).catch((error: Error) => {
        const left = ran.filter((pid) => existsSync(`/proc/${pid}`)).map((pid) => `${pid} ${commandOf(pid)}`);
        throw new Error(`${error.message}; left: ${left.join('; ')}`);
      });
      const goneMs = Date.now() - cutAt;
      await waitFor(async () => (existsSync(join(runsParentOf(a), runDirs[0]!)) ? undefined : true), {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: `the run directory ${runDirs[0]} on ${a.alias} to be removed`,
      });
      const invalid = await waitFor(
        async () => {
          const results = await resultsIn(out).catch(() => null);
          const reps = results?.scenarios.flatMap((s) => s.repetitions.filter((r) => !r.verdict.valid)) ?? [];
          return reps.length > 0 ? reps : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 200, what: 'the cut repetition to be recorded' },
      );
      const reasons = invalid[0]!.verdict.reasons.join('; ');
      expect(reasons).toContain(a.alias);
      expect(reasons).toMatch(/connection (to \S+ )?(was )?lost|lost the connection/);
      const run = await child;
      expect(run.timedOut, output.slice(-2000)).toBe(false);
      await nothingLeftOn([a, b], started);
      console.log(
        `cut link: the run's ${ran.length} processes on ${a.alias} gone ${goneMs} ms after the cut`,
      );
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
    // What its cache holds: the first test's bundle when it ran, nothing to prune (all new).
    expect(ready!.copy?.cache.prunable).toEqual({ entries: 0, bytes: 0 });
    if (ready!.copy?.cached) expect(ready!.copy.cache.bytes).toBeGreaterThanOrEqual(ready!.copy.bytes);
    expect(bare!.reachable).toBe(true);
    expect(bare!.problems.join('\n')).toContain('node not found on PATH');
    expect(bare!.installLine).toBe('apt-get install -y nodejs');
    expect(bare!.copy).toBeNull();
    const text = await execa(cli.file, cli.args.slice(0, -1), { reject: false, timeout: 120_000 });
    expect(text.stdout).toContain(`${a!.alias}: reachable`);
    expect(text.stdout).toMatch(/copy {9}(nothing: its cache has|\d+ KiB in \d+ files:) bundle [0-9a-f]{12}/);
    expect(text.stdout).toMatch(
      /cache {8}\d+ bundles?, \d+ KiB in all \(native builds too\); nothing to prune/,
    );
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
