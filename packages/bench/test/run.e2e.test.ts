import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResults } from '@scaleup/core';
import { childPids, isAlive, waitFor } from '@scaleup/core/io';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { findCgroupLayout } from '../src/cgroup.ts';
import { scaleupCliCommand } from '../src/servers.ts';
import { firstRepetitionIn } from './helpers.ts';

const dirs: string[] = [];
const started: number[] = [];

afterEach(async () => {
  for (const pid of started.splice(0)) if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-bench-e2e-'));
  dirs.push(dir);
  return dir;
}

async function descendantsOf(pid: number): Promise<number[]> {
  const all: number[] = [];
  for (const child of await childPids(pid)) all.push(child, ...(await descendantsOf(child)));
  return all;
}

describe('bench end to end (real server, real nginx, real load tool)', () => {
  it('runs the seed suite with the smoke profile and writes a valid, complete results.json', async () => {
    const out = await tempDir();
    const cli = scaleupCliCommand(['bench', '--all', '--profile', 'smoke', '--out', out, '--no-report']);
    const run = await execa(cli.file, cli.args, { reject: false, timeout: 240_000 });
    const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.complete).toBe(true);
    expect(results.interrupted).toBeNull();
    expect(results.scenarios.map((s) => s.id)).toEqual(['1a', '1b', 'nginx-1', '2a', '2b', 'nginx-2']);
    for (const scenario of results.scenarios) {
      expect(scenario.skipped, `${scenario.id} skipped`).toBeNull();
      expect(scenario.verification?.ok).toBe(true);
      expect(scenario.repetitions).toHaveLength(results.plan.repetitions);
      for (const rep of scenario.repetitions) {
        expect(rep.verdict.reasons, `${scenario.id} round ${rep.round}`).toEqual([]);
        expect(rep.load.requests.succeeded).toBeGreaterThan(0);
        expect(rep.serverCpu.length).toBeGreaterThan(0);
        // What each side spent per response, from the repetition's own samples (perf is root-only
        // here, and CI runs as root: a null syscall count would come with a warning saying why).
        expect(rep.cost?.serverCpuMicrosPerResponse).toBeGreaterThan(0);
        expect(rep.cost?.toolCpuMicrosPerResponse).toBeGreaterThan(0);
        expect(rep.cost?.serverContextSwitchesPerResponse).toBeGreaterThanOrEqual(0);
        if (rep.cost?.serverSyscallsPerResponse === null) {
          expect(results.warnings.join('\n')).toMatch(/system calls per response not counted: /);
        } else {
          expect(rep.cost?.serverSyscallsPerResponse).toBeGreaterThan(0);
        }
      }
      expect(scenario.summary?.requestsPerSecond?.n).toBe(results.plan.repetitions);
      expect(scenario.summary?.serverCpuMicrosPerResponse?.n).toBe(results.plan.repetitions);
      if (scenario.server.kind === 'scaleup') {
        // The test setup builds the addon, as setup.sh does: 10 kB answers go out with sendfile.
        expect(scenario.server.send).toBe('auto');
        expect(scenario.server.zeroCopy).toBe(true);
        expect(scenario.repetitions[0]!.workers?.reduce((sum, w) => sum + w.requests, 0)).toBeGreaterThan(0);
        expect(scenario.summary?.ratioToBaseline?.baseline).toMatch(/^nginx-/);
        expect(scenario.summary?.efficiencyToBaseline?.baseline).toMatch(/^nginx-/);
      }
      if (scenario.server.kind === 'nginx') expect(scenario.server.settings.preset).toBe('tuned');
    }
    // Rounds interleave: within a group, every scenario's round r starts before any round r+1.
    const group = results.scenarios.filter((s) => s.group === '40B');
    const starts = group.flatMap((s) =>
      s.repetitions.map((r) => ({ round: r.round, at: Date.parse(r.startedAt) })),
    );
    const lastOfRound0 = Math.max(...starts.filter((s) => s.round === 0).map((s) => s.at));
    const firstOfRound1 = Math.min(...starts.filter((s) => s.round === 1).map((s) => s.at));
    expect(lastOfRound0).toBeLessThanOrEqual(firstOfRound1);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ETA/);
    expect(run.stderr).toMatch(/vs nginx/);
    expect(run.stderr).toMatch(/efficiency/);
    expect(run.stderr).not.toMatch(/not sendfile/);
  }, 300_000);

  it('keeps partial results and leaves no process behind when interrupted', async () => {
    const out = await tempDir();
    const cli = scaleupCliCommand([
      'bench',
      '--profile',
      'smoke',
      '--reps',
      '20',
      '--only',
      '2a,nginx-2',
      '--out',
      out,
      '--no-report',
    ]);
    const child = execa(cli.file, cli.args, { reject: false, timeout: 120_000 });
    started.push(child.pid!);
    const seen = new Set<number>();
    await waitFor(
      async () => {
        for (const pid of await descendantsOf(child.pid!)) seen.add(pid);
        return firstRepetitionIn(out);
      },
      { timeoutMs: 90_000, intervalMs: 100, what: 'a first measured repetition' },
    );
    for (const pid of await descendantsOf(child.pid!)) seen.add(pid);
    child.kill('SIGINT');
    const finished = await child;
    expect(finished.exitCode).toBe(130);
    const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.complete).toBe(false);
    expect(results.interrupted).toMatch(/SIGINT/);
    expect(results.scenarios.flatMap((s) => s.repetitions).length).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThan(2);
    await waitFor(
      async () => ((await Promise.all([...seen].map(isAlive))).some(Boolean) ? undefined : true),
      {
        timeoutMs: 15_000,
        what: 'every process the run started to exit',
      },
    );
  }, 150_000);

  // Needs root and a cgroup cpu controller (CI runs as root).
  it.skipIf(process.getuid?.() !== 0 || findCgroupLayout().version === null)(
    'caps the servers with --server-quota: their CPU stays within the quota, the group is removed',
    async () => {
      const out = await tempDir();
      const cli = scaleupCliCommand([
        ...['bench', '--profile', 'smoke', '--server-quota', '0.4', '--only', '2a,nginx-2'],
        ...['--out', out, '--no-report'],
      ]);
      const child = execa(cli.file, cli.args, { reject: false, timeout: 120_000 });
      started.push(child.pid!);
      const run = await child;
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr).toContain('servers capped at 0.4 CPU by a cgroup quota');
      const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
      expect(results.topology.serverCpuQuotaCores).toBe(0.4);
      for (const scenario of results.scenarios) {
        for (const rep of scenario.repetitions) {
          const cpuSeconds = rep.serverCpu.reduce((sum, p) => sum + p.userSeconds + p.systemSeconds, 0);
          // 0.4 CPU, with slack for the kernel's 100 ms periods and tick accounting.
          expect(cpuSeconds / rep.load.elapsedSeconds, scenario.id).toBeLessThan(0.55);
          expect(rep.verdict.valid).toBe(true);
        }
      }
      // The runner names its group after its own pid.
      const layout = findCgroupLayout();
      if (layout.version !== null) {
        expect(await readdir(layout.root)).not.toContain(`scaleup-bench-${child.pid}`);
      }
    },
    150_000,
  );

  // Needs root and a cgroup cpu controller (CI runs as root).
  it.skipIf(process.getuid?.() !== 0 || findCgroupLayout().version === null)(
    'calibrates from the warm-up: a quota chosen where wrk ran flat out, recorded, the servers held to it',
    async () => {
      const out = await tempDir();
      const cli = scaleupCliCommand([
        ...['bench', '--profile', 'smoke', '--calibrate', '--connections', '128', '--only', '2a,nginx-2'],
        ...['--out', out, '--no-report'],
      ]);
      const child = execa(cli.file, cli.args, { reject: false, timeout: 120_000 });
      started.push(child.pid!);
      const run = await child;
      expect(run.exitCode, run.stderr).toBe(0);
      const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
      const calibration = results.topology.calibration!;
      expect(calibration.method).toBe('server-quota');
      const group = calibration.groups[0]!;
      expect(calibration.groups).toHaveLength(1);
      expect(run.stderr).toContain(`calibration ${group.decision}`);
      for (const cost of group.costs) {
        expect(cost.serverCpuMicrosPerResponse, cost.resultId).toBeGreaterThan(0);
        expect(cost.toolCpuMicrosPerResponse, cost.resultId).toBeGreaterThan(0);
      }
      expect(group.headroomFraction).not.toBeNull();
      // Whether wrk saturates depends on the machine: the quota must follow what was measured.
      if (group.toolBusyFraction! <= 0.8) {
        expect(group.serverQuotaCores).toBeNull();
        return;
      }
      const quota = group.serverQuotaCores!;
      expect(quota).toBeGreaterThanOrEqual(0.1);
      expect(quota).toBeLessThan(1);
      // A round that saturated wrk again lowers the quota for the next (then the run has none).
      expect(results.topology.serverCpuQuotaCores).toBe(group.adjustments.length === 0 ? quota : null);
      expect(results.topology.description).toContain(`servers capped at ${quota} CPU`);
      for (const scenario of results.scenarios) {
        for (const rep of scenario.repetitions) {
          const cpuSeconds = rep.serverCpu.reduce((sum, p) => sum + p.userSeconds + p.systemSeconds, 0);
          // Held to the quota by the group they ran in, with slack for 100 ms periods and ticks.
          expect(cpuSeconds / rep.load.elapsedSeconds, scenario.id).toBeLessThan(quota + 0.15);
          expect(rep.verdict.valid).toBe(true);
        }
      }
      const layout = findCgroupLayout();
      if (layout.version !== null) {
        expect(await readdir(layout.root)).not.toContain(`scaleup-bench-${child.pid}`);
      }
    },
    150_000,
  );
});
