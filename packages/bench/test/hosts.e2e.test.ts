import { existsSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResults, type ResultsFile } from '@scaleup/core';
import { isAlive, waitFor } from '@scaleup/core/io';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLab, type NetnsLab, netnsSkipReason } from '../../hosts/test/support/netns.ts';
import { scaleupCliCommand } from '../src/servers.ts';
import { firstRepetitionIn } from './helpers.ts';

/**
 * Servers and load tools on other hosts, for real: two network namespaces with their own sshd,
 * reached over veth pairs from 198.18.0.0/15. They share this machine's CPUs, so these tests
 * prove the behaviour (barrier, merge, remote /proc, faults, cleanup), not more capacity.
 */
const skip = netnsSkipReason();
let lab: NetnsLab;
const dirs: string[] = [];

beforeAll(async () => {
  if (skip === null) lab = await createLab([{ clientAliveSeconds: 1 }, { clientAliveSeconds: 1 }]);
}, 120_000);
afterAll(() => lab?.teardown());
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-hosts-e2e-'));
  dirs.push(dir);
  return dir;
}

/** Everything running inside a namespace besides its sshd daemon. */
async function leftoversIn(index: number): Promise<string[]> {
  const ns = lab.namespaces[index]!;
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === ns.sshdPid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) !== ns.netnsId) continue;
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim();
      if (cmdline !== '') found.push(`${entry}: ${cmdline}`);
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/**
 * Files a run left in /tmp, which the namespaces share with this machine: a load host must keep
 * nothing of a run, even when its link dropped before the harness could collect it.
 */
async function filesLeftSince(startedMs: number): Promise<string[]> {
  const left: string[] = [];
  for (const name of await readdir('/tmp')) {
    if (!/^scaleup-load-/.test(name)) continue;
    const info = await stat(join('/tmp', name)).catch(() => null);
    if (info !== null && info.mtimeMs >= startedMs) left.push(name);
  }
  return left;
}

/** The parent pid of `pid`, from /proc/PID/stat (after the command name, which may hold spaces). */
async function parentOf(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => null);
  if (stat === null) return null;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * A load tool running in namespace `index`, the sshd process its session runs under, and the
 * processes between them and below (group leader, scaleup load, the tool).
 */
async function sessionOfTool(index: number): Promise<{ sshd: number; below: number[] } | undefined> {
  const ns = lab.namespaces[index]!;
  for (const line of await leftoversIn(index)) {
    const [pidText, ...rest] = line.split(': ');
    if (!/(^|\/)(wrk|h2load) /.test(`${rest.join(': ')} `)) continue;
    const chain = [Number(pidText)];
    for (
      let pid = await parentOf(chain[0]!);
      pid !== null && pid > 1 && pid !== ns.sshdPid;
      pid = await parentOf(pid)
    ) {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      if (comm.startsWith('sshd')) return { sshd: pid, below: chain };
      chain.push(pid);
    }
  }
  return undefined;
}

let testStartedMs = 0;
beforeEach(() => {
  testStartedMs = Date.now();
});

async function nothingLeft(): Promise<void> {
  expect(await filesLeftSince(testStartedMs)).toEqual([]);
  await waitFor(
    async () => ((await leftoversIn(0)).length + (await leftoversIn(1)).length === 0 ? true : undefined),
    { timeoutMs: 15_000, what: 'every remote process to be gone' },
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}: ${[...(await leftoversIn(0)), ...(await leftoversIn(1))].join('; ')}`);
  });
}

function bench(args: string[]) {
  const cli = scaleupCliCommand([
    'bench',
    '--profile',
    'smoke',
    '--only',
    '2a,nginx-2',
    '--ssh-config',
    lab.sshConfig,
    ...args,
  ]);
  return execa(cli.file, cli.args, { reject: false, timeout: 240_000 });
}

async function resultsIn(dir: string): Promise<ResultsFile> {
  return parseResults(await readFile(join(dir, 'results.json'), 'utf8'));
}

describe.skipIf(skip !== null)(
  `load and servers on other hosts over ssh${skip === null ? '' : ` (skipped: ${skip})`}`,
  () => {
    it('loads from two hosts at once: each host kept, merged counts are their sums', async () => {
      const out = await tempDir();
      const [a, b] = lab.namespaces;
      const run = await bench([
        '--load-host',
        a!.alias,
        '--load-host',
        b!.alias,
        '--out',
        out,
        '--no-report',
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      const results = await resultsIn(out);
      expect(results.plan.loadHosts).toEqual([a!.alias, b!.alias]);
      expect(results.hosts.map((h) => [h.name, h.roles, h.address])).toEqual([
        [a!.alias, ['load'], a!.rootAddress],
        [b!.alias, ['load'], b!.rootAddress],
      ]);
      for (const s of results.scenarios) {
        for (const rep of s.repetitions) {
          expect(rep.verdict.reasons, s.id).toEqual([]);
          const hosts = rep.load.hosts!;
          expect(hosts.map((h) => h.host)).toEqual([a!.alias, b!.alias]);
          expect(rep.load.requests.succeeded).toBe(
            hosts[0]!.requests.succeeded + hosts[1]!.requests.succeeded,
          );
          expect(rep.load.bytes.total).toBe(hosts[0]!.bytes.total + hosts[1]!.bytes.total);
          // Each host reached this machine at the address it sees the harness connect from.
          expect(hosts[0]!.argv.at(-1)).toContain(a!.rootAddress);
          expect(hosts[1]!.argv.at(-1)).toContain(b!.rootAddress);
          // wrk gives its whole distribution: the merged percentiles are exact.
          if (rep.load.tool === 'wrk') expect(rep.load.latency.merge).toBe('histogram');
        }
      }
      expect(existsSync(join(out, 'raw', `2a-r1.${a!.alias}.txt`))).toBe(true);
      await nothingLeft();
    }, 300_000);

    it('runs the servers on another host and reads their CPU, workers and TCP counters there', async () => {
      const out = await tempDir();
      const [a] = lab.namespaces;
      const run = await bench(['--server-host', a!.alias, '--out', out, '--no-report']);
      expect(run.exitCode, run.stderr).toBe(0);
      const results = await resultsIn(out);
      expect(results.hosts.map((h) => [h.name, h.roles])).toEqual([[a!.alias, ['server']]]);
      for (const s of results.scenarios) {
        expect(s.serverHost).toBe(a!.alias);
        expect(s.url).toContain(a!.address);
        for (const rep of s.repetitions) {
          expect(rep.verdict.reasons).toEqual([]);
          expect(rep.serverCpu.length).toBeGreaterThan(0);
          expect(rep.tcp).not.toBeNull();
        }
        if (s.server.kind === 'scaleup') expect(s.repetitions[0]!.workers?.length).toBeGreaterThan(0);
      }
      await nothingLeft();
    }, 300_000);

    it('a connection cut mid-repetition makes it invalid with the host and why; the run ends, nothing is left', async () => {
      const out = await tempDir();
      const [a] = lab.namespaces;
      const cli = scaleupCliCommand([
        ...['bench', '--profile', 'smoke', '--only', '2a,nginx-2', '--duration', '4', '--reps', '2'],
        ...['--load-host', a!.alias, '--ssh-config', lab.sshConfig, '--out', out, '--no-report'],
      ]);
      const child = execa(cli.file, cli.args, { reject: false, timeout: 240_000, all: true });
      let output = '';
      child.all?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      // The last warm-up is done: the first measured repetition starts now.
      await waitFor(async () => (/nginx-2: warm-up 1/.test(output) ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 100,
        what: 'the warm-ups to finish',
      });
      // Into the first measured repetition (its load tool runs on the host), then the link goes
      // down for a while.
      await waitFor(
        async () => ((await leftoversIn(0)).some((p) => /wrk|h2load|autocannon/.test(p)) ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 50, what: 'the load tool running on the host' },
      );
      await execa('ip', ['link', 'set', a!.veth, 'down']);
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      await execa('ip', ['link', 'set', a!.veth, 'up']);
      const run = await child;
      expect(run.timedOut).toBe(false);
      expect(run.exitCode).toBe(1);
      const results = await resultsIn(out);
      const invalid = results.scenarios.flatMap((s) => s.repetitions.filter((r) => !r.verdict.valid));
      expect(invalid.length).toBeGreaterThan(0);
      expect(invalid[0]!.verdict.reasons.join('; ')).toContain(a!.alias);
      expect(invalid[0]!.verdict.reasons.join('; ')).toMatch(
        /lost the connection|connection lost|not ready|did not report/,
      );
      await nothingLeft();
    }, 300_000);

    it('a killed sshd session clears its host at once, and the repetition says the connection was lost', async () => {
      const out = await tempDir();
      const [a] = lab.namespaces;
      const cli = scaleupCliCommand([
        ...['bench', '--profile', 'smoke', '--only', '2a', '--duration', '6', '--reps', '2'],
        ...['--load-host', a!.alias, '--ssh-config', lab.sshConfig, '--out', out, '--no-report'],
      ]);
      const child = execa(cli.file, cli.args, { reject: false, timeout: 240_000, all: true });
      let output = '';
      child.all?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      let ended = false;
      void child.then(() => {
        ended = true;
      });
      await waitFor(
        async () => {
          if (ended) throw new Error(`the run ended first: ${output.slice(-2000)}`);
          return /2a: warm-up 1/.test(output) ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 100, what: 'the warm-up to finish' },
      ).catch((error: Error) => {
        throw new Error(`${error.message} (output: ${output.slice(-2000)})`);
      });
      // The measured repetition's tool on the host, and the sshd process its session runs under.
      const session = await waitFor(() => sessionOfTool(0), {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: 'the load tool running on the host under its sshd session',
      });
      process.kill(session.sshd, 'SIGKILL');
      // Everything the session ran there (group leader, scaleup load, the tool) goes at once.
      await waitFor(
        async () => ((await Promise.all(session.below.map(isAlive))).some(Boolean) ? undefined : true),
        {
          timeoutMs: 5_000,
          intervalMs: 20,
          what: `the session's processes ${session.below.join(', ')} to be gone`,
        },
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}; left: ${(await leftoversIn(0)).join('; ')}`);
      });
      const run = await child;
      expect(run.timedOut).toBe(false);
      const results = await resultsIn(out);
      const invalid = results.scenarios.flatMap((s) => s.repetitions.filter((r) => !r.verdict.valid));
      expect(invalid.length, output).toBeGreaterThan(0);
      const reasons = invalid[0]!.verdict.reasons.join('; ');
      expect(reasons).toContain(a!.alias);
      expect(reasons).toMatch(/connection (to \S+ )?(was )?lost|lost the connection/);
      // Said first: why the tool's output is missing, not only that it is.
      expect(invalid[0]!.verdict.reasons[0]).toContain(a!.alias);
      await nothingLeft();
    }, 300_000);

    it('a host that refuses ssh is a preflight error: every problem at once, exit 2, nothing started or written', async () => {
      const out = join(await tempDir(), 'run');
      const [a] = lab.namespaces;
      const run = await bench([
        '--load-host',
        `${a!.alias}-badport`,
        '--load-host',
        `${a!.alias}-nokey`,
        '--out',
        out,
      ]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/2 host problems, nothing started/);
      expect(run.stderr).toContain(`${a!.alias}-badport: ssh does not work`);
      expect(run.stderr).toContain(`${a!.alias}-nokey: ssh does not work`);
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    }, 120_000);

    it('SIGINT while remote load runs stops everything on every host and keeps the partial results', async () => {
      const out = await tempDir();
      const [a, b] = lab.namespaces;
      const cli = scaleupCliCommand([
        ...['bench', '--profile', 'smoke', '--only', '2a,nginx-2', '--duration', '5', '--reps', '5'],
        ...[
          '--load-host',
          a!.alias,
          '--load-host',
          b!.alias,
          '--ssh-config',
          lab.sshConfig,
          '--out',
          out,
          '--no-report',
        ],
      ]);
      const child = execa(cli.file, cli.args, { reject: false, timeout: 240_000 });
      await waitFor(() => firstRepetitionIn(out), {
        timeoutMs: 180_000,
        intervalMs: 200,
        what: 'a first measured repetition',
      });
      // Now a tool runs on both hosts.
      await waitFor(
        async () => ((await leftoversIn(0)).some((p) => /wrk|h2load|autocannon/.test(p)) ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 50,
          what: 'the load tool running on the first host',
        },
      );
      child.kill('SIGINT');
      const run = await child;
      expect(run.exitCode).toBe(130);
      const results = await resultsIn(out);
      expect(results.complete).toBe(false);
      expect(results.interrupted).toMatch(/SIGINT/);
      await nothingLeft();
    }, 300_000);
  },
);
