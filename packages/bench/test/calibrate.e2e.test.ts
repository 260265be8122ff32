import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CalibrationGroup,
  type LoadSpec,
  MAX_EXTRA_RECHECKS,
  MAX_QUOTA_ADJUSTMENTS,
  type Profile,
  type ResultsFile,
  recheckQuota,
  selectScenarios,
  serverQuotaFor,
} from '@scaleup/core';
import { renderMarkdown } from '@scaleup/report';
import { afterEach, describe, expect, it } from 'vitest';
import { CPU_QUOTA_PERIOD_MICROSECONDS, findCgroupLayout } from '../src/cgroup.ts';
import { createDefaultDeps } from '../src/deps.ts';
import type { BenchEvent, LoadToolPort, RunnerDeps } from '../src/ports.ts';
import { runBench } from '../src/runner.ts';
import { REPO_DIR } from '../src/servers.ts';
import { loadProfiles, loadSuite } from '../src/suite-files.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * A load tool that saturates: the real wrk drives the real servers, but the CPU it reports is
 * that of a tool whose cost per response had it 97% busy at what each server served uncapped
 * (its first run against that server). Under a quota the servers serve less and the same cost
 * per response leaves it room, as a real tool's would.
 */
function saturatingTool(real: LoadToolPort, factor: (spec: LoadSpec) => number = () => 1): LoadToolPort {
  const costByPoint = new Map<string, number>();
  return {
    ...real,
    async run(spec, options) {
      const load = await real.run(spec, options);
      const responses = load.requests.succeeded;
      if (responses === 0 || load.elapsedSeconds <= 0) return load;
      const key = `${spec.url} ${spec.connections}`;
      const cost = costByPoint.get(key) ?? (factor(spec) * 0.97 * load.elapsedSeconds) / responses;
      costByPoint.set(key, cost);
      const seconds = Math.min(load.elapsedSeconds, cost * responses);
      return {
        ...load,
        toolCpu: {
          userSeconds: seconds,
          systemSeconds: 0,
          cores: 1,
          utilisation: seconds / load.elapsedSeconds,
        },
      };
    },
  };
}

/** The quota file of the run's group, read while the servers are in it; null: no group. */
function groupState(): { quota: string; procs: number[] } | null {
  const layout = findCgroupLayout();
  if (layout.version === null) return null;
  const path = join(layout.root, `scaleup-bench-${process.pid}`);
  try {
    const quota = readFileSync(join(path, layout.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us'), 'utf8');
    const procs = readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    return { quota: quota.trim(), procs };
  } catch {
    return null;
  }
}

/**
 * A load tool that stays saturated, as on a VM that keeps getting faster: every run reports 97%
 * of its core busy, whatever the quota, so each re-check and each round asks for a lower one.
 */
function alwaysSaturatedTool(real: LoadToolPort): LoadToolPort {
  return {
    ...real,
    async run(spec, options) {
      const load = await real.run(spec, options);
      if (load.requests.succeeded === 0 || load.elapsedSeconds <= 0) return load;
      const seconds = 0.97 * load.elapsedSeconds;
      return { ...load, toolCpu: { userSeconds: seconds, systemSeconds: 0, cores: 1, utilisation: 0.97 } };
    },
  };
}

/**
 * saturatingTool with a cost per response that grows with connections, as wrk's does (three
 * times as much at 1024 as at 16 here): at 64 connections each response costs it twice what it
 * costs at 16, so the two points of a connection sweep need different quotas.
 */
const costlierWithConnections = (real: LoadToolPort) =>
  saturatingTool(real, (spec) => (spec.connections >= 64 ? 2 : 1));

async function calibratedRun(
  profile: Profile,
  onEvent: (event: BenchEvent) => void,
  fake: (real: LoadToolPort) => LoadToolPort = saturatingTool,
): Promise<ResultsFile> {
  const outDir = await mkdtemp(join(tmpdir(), 'scaleup-calibrate-'));
  dirs.push(outDir);
  const real = await createDefaultDeps();
  const deps: RunnerDeps = {
    ...real,
    loadTool: async (name) => fake(await real.loadTool(name)),
  };
  const suite = await loadSuite();
  return runBench(
    {
      suite,
      scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
      profileName: 'smoke',
      profile,
      tool: 'wrk',
      outDir,
      argv: [],
      runId: 'calibrate',
      scaleupVersion: '0.0.0',
      repoDir: REPO_DIR,
      signal: new AbortController().signal,
      onEvent,
    },
    deps,
  );
}

const canCap = process.getuid?.() === 0 && findCgroupLayout().version !== null;

describe('calibration with a load tool that saturates (real servers and wrk, the tool CPU faked)', () => {
  it('caps every server of the group with the quota that leaves the tool 20% headroom, and records it', async () => {
    const smoke = (await loadProfiles()).smoke!;
    const decisions: string[] = [];
    const seenInGroup: ({ quota: string; procs: number[] } | null)[] = [];
    const results = await calibratedRun({ ...smoke, repetitions: 1, calibrate: true }, (event) => {
      if (event.type !== 'calibration') return;
      decisions.push(event.decision);
      seenInGroup.push(groupState());
    });
    const calibration = results.topology.calibration!;
    if (!canCap) {
      // Not root or no cpu controller: said once, pointing to another machine for the load.
      expect(calibration.method).toBe('none');
      expect(results.warnings.filter((w) => w.includes('--load-host'))).toHaveLength(1);
      expect(decisions).toEqual([]);
      return;
    }
    expect(calibration.method).toBe('server-quota');
    expect(calibration.groups).toHaveLength(1);
    const group = calibration.groups[0]!;
    expect(group.group).toBe('40B');
    expect(group.costs.map((c) => c.resultId).sort()).toEqual(['2a', 'nginx-2']);
    for (const cost of group.costs) {
      expect(cost.serverCpuMicrosPerResponse).toBeGreaterThan(0);
      expect(cost.toolCpuMicrosPerResponse).toBeGreaterThan(0);
      expect(cost.toolBusyFraction).toBeCloseTo(0.97, 5);
    }
    expect(group.toolBusyFraction).toBeCloseTo(0.97, 5);
    // The first quota follows from the recorded costs (tool on one core, servers on one); a
    // re-check that left the tool less than 20% lowers it by the ratio measured, twice at most.
    const chosen = serverQuotaFor(group.costs, 1, 1).quotaCores;
    expect(chosen).not.toBeNull();
    expect(group.rechecks[0]?.quotaCores).toBe(chosen);
    expect(group.rechecks.length).toBeLessThanOrEqual(1 + MAX_EXTRA_RECHECKS);
    for (const [i, check] of group.rechecks.slice(1).entries()) {
      const previous = group.rechecks[i]!;
      expect(check.quotaCores).toBe(recheckQuota(previous.quotaCores, previous.toolBusyFraction));
    }
    const expected = group.rechecks.at(-1)!.quotaCores;
    expect(group.serverQuotaCores).toBe(expected);
    expect(group.headroomFraction).toBeCloseTo(1 - group.rechecks.at(-1)!.toolBusyFraction!, 9);
    expect(group.toolCpus).toBeNull();
    expect(group.adjustments).toEqual([]);
    expect(results.topology.serverCpuQuotaCores).toBe(expected);
    expect(results.topology.description).toContain(
      `calibrated (server-quota): 40B servers capped at ${expected} CPU`,
    );
    // "Per share of a core" is said once, by the report's quota note, not in the topology line too.
    expect(results.topology.description).not.toContain('share of a core');
    expect(renderMarkdown(results).match(/per that share of a core/g)).toHaveLength(1);
    // One line for the group, and the quota set on the group holding the servers when it was said.
    expect(decisions).toEqual([group.decision]);
    expect(group.decision).toMatch(
      new RegExp(`^40B: servers capped at ${expected} CPU: the tool was 97% busy`),
    );
    const state = seenInGroup[0];
    expect(state).not.toBeNull();
    const micros = String(Math.round(expected * CPU_QUOTA_PERIOD_MICROSECONDS));
    expect(state!.quota.startsWith(micros)).toBe(true);
    expect(state!.procs.length).toBeGreaterThanOrEqual(2);
    for (const scenario of results.scenarios) {
      expect(scenario.warmup?.runs, scenario.id).toBe(1 + group.rechecks.length);
      expect(scenario.repetitions).toHaveLength(1);
      expect(scenario.repetitions[0]!.verdict.valid).toBe(true);
    }
  }, 120_000);

  it('lowers the quota between rounds while the tool stays saturated: three times at most, each round under one quota', async () => {
    const smoke = (await loadProfiles()).smoke!;
    const decisions: string[] = [];
    // The quota each repetition started under, by round.
    const quotaByRound = new Map<number, Set<string>>();
    const results = await calibratedRun(
      { ...smoke, repetitions: 5, calibrate: true },
      (event) => {
        if (event.type === 'calibration') decisions.push(event.decision);
        if (event.type !== 'rep-start') return;
        const quota = groupState()?.quota ?? 'none';
        quotaByRound.set(event.round, (quotaByRound.get(event.round) ?? new Set()).add(quota));
      },
      alwaysSaturatedTool,
    );
    if (!canCap) {
      expect(results.topology.calibration?.method).toBe('none');
      return;
    }
    const group = results.topology.calibration!.groups[0]!;
    // 97% busy at every re-check: the chosen quota and two lowered by 0.8/0.97.
    expect(group.rechecks).toHaveLength(1 + MAX_EXTRA_RECHECKS);
    for (const check of group.rechecks) expect(check.toolBusyFraction).toBeCloseTo(0.97, 5);
    expect(group.serverQuotaCores).toBe(group.rechecks.at(-1)!.quotaCores);
    // After rounds 1, 2 and 3 (not 4: three is the most), each lower than the one before.
    expect(group.adjustments.map((a) => a.afterRound)).toEqual([1, 2, 3]);
    expect(group.adjustments).toHaveLength(MAX_QUOTA_ADJUSTMENTS);
    let previous = group.serverQuotaCores!;
    for (const adjustment of group.adjustments) {
      expect(adjustment.quotaCores).toBeLessThan(previous);
      expect(adjustment.toolBusyFraction).toBeCloseTo(0.97, 5);
      expect(adjustment.why).toMatch(new RegExp(`^the tool was 97% busy in round ${adjustment.afterRound}`));
      previous = adjustment.quotaCores;
    }
    // One CLI line for the calibration and one per adjustment.
    expect(decisions).toHaveLength(1 + MAX_QUOTA_ADJUSTMENTS);
    for (const [i, adjustment] of group.adjustments.entries()) {
      expect(decisions[i + 1]).toMatch(
        new RegExp(
          `^40B: servers capped at ${adjustment.quotaCores} CPU from round ${adjustment.afterRound + 1}: `,
        ),
      );
    }
    // Both servers of a round ran under the same quota, the one in force for that round.
    const micros = (cores: number) => String(Math.round(cores * CPU_QUOTA_PERIOD_MICROSECONDS));
    const expected = [
      group.serverQuotaCores!,
      ...group.adjustments.map((a) => a.quotaCores),
      group.adjustments.at(-1)!.quotaCores,
    ];
    expect([...quotaByRound.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    for (const [round, quotas] of quotaByRound) {
      expect(quotas.size, `round ${round + 1}`).toBe(1);
      expect([...quotas][0]!.startsWith(micros(expected[round]!)), `round ${round + 1}`).toBe(true);
    }
    // Every round is kept, and the run no longer has one quota.
    for (const scenario of results.scenarios) expect(scenario.repetitions).toHaveLength(5);
    expect(results.topology.serverCpuQuotaCores).toBeNull();
    expect(results.topology.description).toContain(
      `, lowered to ${group.adjustments[0]!.quotaCores} CPU after round 1`,
    );
    expect(renderMarkdown(results)).toContain(`${group.adjustments[0]!.quotaCores} from round 2`);
  }, 180_000);

  it.skipIf(!canCap)(
    'gives each point of a connection sweep its own quota, set before every run of that point',
    async () => {
      const smoke = (await loadProfiles()).smoke!;
      const quotaAtStart: [string, number, string][] = [];
      const results = await calibratedRun(
        { ...smoke, repetitions: 2, connections: [16, 64], calibrate: true },
        (event) => {
          if (event.type !== 'rep-start') return;
          quotaAtStart.push([event.scenarioId, event.round, groupState()?.quota ?? 'none']);
        },
        costlierWithConnections,
      );
      const groups = results.topology.calibration!.groups;
      expect(groups.map((g) => g.group)).toEqual(['40B c16', '40B c64']);
      for (const group of groups) {
        const point = group.group.split(' ')[1]!;
        expect(group.costs.map((c) => c.resultId).sort()).toEqual([`2a@${point}`, `nginx-2@${point}`]);
      }
      const [c16, c64] = groups as [CalibrationGroup, CalibrationGroup];
      // The quota in force in a round (0-based): the calibrated one, or the last lowered before it.
      const quotaIn = (g: CalibrationGroup, round: number) =>
        g.adjustments.filter((a) => a.afterRound <= round).at(-1)?.quotaCores ?? g.serverQuotaCores!;
      // Each point's quota comes from its own costs alone (on a busy machine the fake tool's
      // cost per response follows the throughput of its first run, so which point gets the
      // lower quota is not fixed; that each is its own is).
      for (const unit of [c16, c64]) {
        expect(unit.serverQuotaCores, unit.group).not.toBeNull();
        expect(unit.rechecks[0]?.quotaCores, unit.group).toBe(serverQuotaFor(unit.costs, 1, 1).quotaCores);
      }
      const micros = (cores: number) => String(Math.round(cores * CPU_QUOTA_PERIOD_MICROSECONDS));
      expect(quotaAtStart).toHaveLength(2 * 4);
      for (const [scenarioId, round, quota] of quotaAtStart) {
        const expected = quotaIn(scenarioId.endsWith('@c16') ? c16 : c64, round);
        expect(quota.split(' ')[0], `${scenarioId} round ${round}`).toBe(micros(expected));
      }
      // One quota for the whole run cannot be said: each point has its own.
      expect(results.topology.serverCpuQuotaCores).toBeNull();
      for (const scenario of results.scenarios) {
        expect(
          scenario.repetitions.map((r) => r.verdict.valid),
          scenario.id,
        ).toEqual([true, true]);
      }
    },
    180_000,
  );

  it('keeps the even split with calibration off: method none, no quota, no line', async () => {
    const smoke = (await loadProfiles()).smoke!;
    const decisions: string[] = [];
    const results = await calibratedRun({ ...smoke, repetitions: 1, calibrate: false }, (event) => {
      if (event.type === 'calibration') decisions.push(event.decision);
    });
    expect(results.topology.calibration?.method).toBe('none');
    expect(results.topology.calibration?.groups).toEqual([]);
    expect(results.topology.serverCpuQuotaCores).toBeNull();
    expect(results.warnings.some((w) => w.includes('--load-host'))).toBe(false);
    expect(decisions).toEqual([]);
    for (const scenario of results.scenarios) expect(scenario.warmup?.runs).toBe(1);
  }, 120_000);
});
