import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  adjustQuota,
  type CalibrationSetting,
  calibrationText,
  chooseCalibration,
  MAX_QUOTA_ADJUSTMENTS,
  type QuotaAdjustmentInput,
  recheckQuota,
  serverQuotaFor,
  settledRecheck,
  toolBusyOf,
  toolCoresFor,
} from '../src/calibration.ts';
import { parseResults, serializeResults } from '../src/results.ts';

const setting = (overrides: Partial<CalibrationSetting> = {}): CalibrationSetting => ({
  calibrate: true,
  explicitQuotaCores: null,
  otherHosts: false,
  pinning: 'split',
  cpus: 2,
  sweptSplit: false,
  quotaUnavailable: null,
  ...overrides,
});

const cost = (resultId: string, server: number | null, tool: number | null, busy: number | null) => ({
  resultId,
  serverCpuMicrosPerResponse: server,
  toolCpuMicrosPerResponse: tool,
  toolBusyFraction: busy,
});

describe('chooseCalibration', () => {
  it('caps the servers with a quota where two cores cannot be split otherwise', () => {
    const choice = chooseCalibration(setting());
    expect(choice.method).toBe('server-quota');
    expect(choice.warning).toBeNull();
  });

  it('sizes the tool share where the machine has cores to spare, unless the split is swept', () => {
    expect(chooseCalibration(setting({ cpus: 8 })).method).toBe('tool-cores');
    expect(chooseCalibration(setting({ cpus: 8, sweptSplit: true })).method).toBe('server-quota');
  });

  it('calibrates nothing on other hosts, when not asked, or under an explicit quota, silently', () => {
    expect(chooseCalibration(setting({ otherHosts: true }))).toMatchObject({
      method: 'load-hosts',
      warning: null,
    });
    expect(chooseCalibration(setting({ calibrate: false }))).toMatchObject({ method: 'none', warning: null });
    const explicit = chooseCalibration(setting({ explicitQuotaCores: 0.6 }));
    expect(explicit).toMatchObject({ method: 'none', warning: null });
    expect(explicit.reason).toMatch(/0\.6 CPU/);
  });

  it('without root or a cgroup cpu controller: none, with one warning pointing to --load-host', () => {
    const choice = chooseCalibration(setting({ quotaUnavailable: 'not root' }));
    expect(choice.method).toBe('none');
    expect(choice.reason).toBe('no CPU quota possible: not root');
    expect(choice.warning).toMatch(/^cannot keep the load tool from being the bottleneck: not root;/);
    expect(choice.warning).toMatch(/--load-host/);
    expect(choice.warning?.split('\n')).toHaveLength(1);
  });
});

describe('serverQuotaFor', () => {
  it('caps a saturating tool so that it keeps 20% headroom at the cheapest server', () => {
    // The 40 B figures: wrk 6.9 µs a response, our server 7.0, nginx 10.4; wrk on one core.
    const choice = serverQuotaFor([cost('2a', 7.0, 6.9, 0.97), cost('nginx-2', 10.4, 6.6, 0.85)], 1, 1);
    // 0.8 * 1 * 7.0 / 6.9 = 0.8116 (ours); nginx's 1.26 is larger.
    expect(choice.quotaCores).toBe(0.81);
    expect(choice.why).toMatch(/97% busy/);
  });

  it('leaves a tool with headroom uncapped', () => {
    expect(serverQuotaFor([cost('a', 20, 5, 0.5), cost('b', 30, 5, 0.79)], 1, 1).quotaCores).toBeNull();
  });

  it('stays within sane bounds: at least 0.1 CPU, and no cap that is not below the servers cores', () => {
    expect(serverQuotaFor([cost('a', 0.5, 50, 1)], 1, 1).quotaCores).toBe(0.1);
    // The tool was busy, but a cap at the servers' own core would change nothing.
    expect(serverQuotaFor([cost('a', 20, 5, 0.95)], 1, 1).quotaCores).toBeNull();
    expect(serverQuotaFor([cost('a', 20, 5, 0.95)], 1, 4).quotaCores).toBe(3.2);
  });

  it('caps nothing when the warm-up measured no cost', () => {
    expect(serverQuotaFor([cost('a', null, 5, 0.99)], 1, 1)).toEqual({
      quotaCores: null,
      why: 'no cost per response measured in warm-up: no cap',
    });
    expect(serverQuotaFor([], 1, 1).quotaCores).toBeNull();
  });
});

describe('toolCoresFor', () => {
  it('gives the tool what its cost per response needs, not half', () => {
    // The tool spends as much as the server: it needs 1/0.8 of the servers' share.
    expect(toolCoresFor([cost('a', 7, 7, 0.95)], 8).toolCores).toBe(5);
    // A cheap tool needs little: one CPU of eight.
    expect(toolCoresFor([cost('a', 40, 2, 0.3)], 8).toolCores).toBe(1);
    // The server whose responses cost the tool most decides.
    expect(toolCoresFor([cost('a', 40, 2, 0.3), cost('b', 7, 7, 0.95)], 8).toolCores).toBe(5);
  });

  it('leaves the servers at least one CPU and keeps the even split without costs', () => {
    expect(toolCoresFor([cost('a', 1, 50, 1)], 4).toolCores).toBe(3);
    expect(toolCoresFor([], 5).toolCores).toBe(3);
  });
});

describe('calibrationText', () => {
  const group = {
    group: '40B',
    costs: [],
    toolBusyFraction: 0.97,
    serverQuotaCores: 0.81,
    toolCpus: null,
    headroomFraction: 0.22,
    decision: '',
    rechecks: [],
    adjustments: [],
  };

  it('says what was decided, and leaves "per share of a core" to the report quota note', () => {
    const text = calibrationText({ method: 'server-quota', reason: 'two CPUs', groups: [group] });
    expect(text).toBe('calibrated (server-quota): 40B servers capped at 0.81 CPU, tool headroom 22%');
    expect(text).not.toMatch(/share of a core/);
  });

  it('names every quota a group was lowered to between rounds', () => {
    const adjustments = [
      { afterRound: 3, quotaCores: 0.7, toolBusyFraction: 0.93, why: '' },
      { afterRound: 5, quotaCores: 0.6, toolBusyFraction: 0.92, why: '' },
    ];
    expect(calibrationText({ method: 'server-quota', reason: '', groups: [{ ...group, adjustments }] })).toBe(
      'calibrated (server-quota): 40B servers capped at 0.81 CPU, tool headroom 22%, lowered to 0.7 CPU after round 3, lowered to 0.6 CPU after round 5',
    );
  });
});

describe('unpinned runs', () => {
  it('calibrate with a server quota where one is possible, on any number of CPUs', () => {
    for (const cpus of [2, 8]) {
      const choice = chooseCalibration(setting({ pinning: 'none', cpus }));
      expect(choice.method).toBe('server-quota');
      expect(choice.reason).toMatch(new RegExp(`^unpinned: the servers and the tool share all ${cpus} CPUs`));
    }
    // Without a quota unpinned runs are where pinned ones are: not calibrated, said once.
    const without = chooseCalibration(setting({ pinning: 'none', quotaUnavailable: 'not root' }));
    expect(without.method).toBe('none');
    expect(without.warning).toMatch(/--load-host/);
  });

  it('leave the tool 20% of what the quota leaves it when it shares the CPUs', () => {
    // One thread on two shared CPUs, a response costing each side the same: its own core binds,
    // Q = 0.8 (and then 2 - 0.8 = 1.2 CPUs are left, more than its thread can use).
    expect(serverQuotaFor([cost('a', 10, 10, 0.95)], 1, 2, 2).quotaCores).toBe(0.8);
    // Two threads: the CPUs the servers leave bind, Q (1 + 0.8) <= 0.8 * 2, Q = 0.88, so the
    // tool needs 0.88 of the 1.12 left: 79%.
    expect(serverQuotaFor([cost('a', 10, 10, 0.95)], 2, 2, 2).quotaCores).toBe(0.88);
    // Pinned, the same costs on the tool's own two cores would cap the servers at 1.6.
    expect(serverQuotaFor([cost('a', 10, 10, 0.95)], 2, 2).quotaCores).toBe(1.6);
    // A tool much cheaper than the server: the CPUs left bind, 0.8 x 2 x 40 / (2 + 0.8 x 40).
    expect(serverQuotaFor([cost('a', 40, 2, 0.85)], 1, 2, 2).quotaCores).toBe(1.88);
    // Sharing, a starved tool always gets a cap below the CPUs, however cheap it is.
    expect(serverQuotaFor([cost('a', 400, 2, 0.85)], 1, 2, 2).quotaCores).toBe(1.98);
    // With room to spare, none.
    expect(serverQuotaFor([cost('a', 10, 10, 0.6)], 1, 2, 2).quotaCores).toBeNull();
  });

  it('measure how busy the tool was of the CPU it could have had', () => {
    // Pinned to one CPU: its utilisation.
    const run = { utilisation: 0.9, cpus: 1, toolCores: 1, sharedCpus: null, serverCpus: 1 };
    expect(toolBusyOf(run)).toBeCloseTo(0.9, 9);
    // Unpinned, one thread allowed 2 CPUs used 0.45 of both: 90% of its core, as the servers
    // (0.9 CPU) left it 1.1.
    const shared = { utilisation: 0.45, cpus: 2, toolCores: 1, sharedCpus: 2, serverCpus: 0.9 };
    expect(toolBusyOf(shared)).toBeCloseTo(0.9, 9);
    // Two threads, the servers took 1.4 CPUs: 0.6 left, and the tool used 0.54 of it.
    expect(toolBusyOf({ ...shared, utilisation: 0.27, toolCores: 2, serverCpus: 1.4 })).toBeCloseTo(0.9, 9);
    // A machine full of servers: nothing left, as busy as a tool gets.
    expect(toolBusyOf({ ...shared, serverCpus: 2 })).toBe(1);
    // Without the servers' CPU, its own cores only.
    expect(toolBusyOf({ ...shared, serverCpus: null })).toBeCloseTo(0.9, 9);
  });
});

describe('recheckQuota', () => {
  it('lowers the quota by the measured ratio while the tool had less than 20% to spare', () => {
    // The 40 B re-check of 2026-12-03: 0.78 CPU left wrk 16% of its core (84% busy).
    expect(recheckQuota(0.78, 0.84)).toBe(0.74);
    expect(recheckQuota(0.78, 0.8)).toBeNull();
    expect(recheckQuota(0.78, 0.6)).toBeNull();
    expect(recheckQuota(0.78, null)).toBeNull();
    // Never below 0.1, and no change is no re-check.
    expect(recheckQuota(0.11, 0.99)).toBe(0.1);
    expect(recheckQuota(0.1, 0.99)).toBeNull();
  });

  // Regression: re-checks only lowered, so a quota from uncapped costs that over-capped the
  // servers stayed: 40 B at 1024 connections, 0.22 CPU left wrk 61% of its core (39% busy).
  it('raises the quota by the same ratio while the tool had more than 40% to spare, below no cap', () => {
    expect(recheckQuota(0.22, 0.39, 1)).toBe(0.45);
    expect(recheckQuota(0.78, 0.5, 1)).toBe(0.99);
    expect(recheckQuota(0.99, 0.5, 1)).toBeNull();
    expect(recheckQuota(0.5, 0.59, 2)).toBe(0.67);
  });
});

describe('settledRecheck', () => {
  it('keeps the highest quota that left the tool its 20%, else the lowest tried', () => {
    const tried = (pairs: [number, number | null][]) =>
      pairs.map(([quotaCores, toolBusyFraction]) => ({ quotaCores, toolBusyFraction }));
    expect(
      settledRecheck(
        tried([
          [0.22, 0.39],
          [0.45, 0.85],
          [0.42, 0.78],
        ]),
      ).quotaCores,
    ).toBe(0.42);
    expect(
      settledRecheck(
        tried([
          [0.22, 0.39],
          [0.45, 0.7],
        ]),
      ).quotaCores,
    ).toBe(0.45);
    expect(
      settledRecheck(
        tried([
          [0.78, 0.84],
          [0.74, 0.82],
          [0.72, 0.81],
        ]),
      ).quotaCores,
    ).toBe(0.72);
    expect(settledRecheck(tried([[0.5, null]])).quotaCores).toBe(0.5);
  });
});

describe('adjustQuota (between rounds)', () => {
  const input = (overrides: Partial<QuotaAdjustmentInput> = {}): QuotaAdjustmentInput => ({
    costs: [cost('1b', 10, 10, 0.95), cost('nginx-1', 14, 10, 0.7)],
    quotaCores: 0.8,
    toolCores: 1,
    serverCores: 1,
    sharedCpus: null,
    adjustmentsSoFar: 0,
    round: 3,
    ...overrides,
  });

  it('re-chooses the quota from the round costs when the tool saturated again', () => {
    // The VM got faster: a response now costs our server 6 µs and the tool 10 (0.8 x 6 / 10).
    const adjustment = adjustQuota(input({ costs: [cost('1b', 6, 10, 0.97), cost('nginx-1', 14, 10, 0.6)] }));
    expect(adjustment).toEqual({
      quotaCores: 0.48,
      toolBusyFraction: 0.97,
      why: 'the tool was 97% busy in round 3: quota from its costs',
    });
  });

  it('lowers by the measured ratio when the costs give no lower quota', () => {
    // Costs say 0.8 (not below the current 0.8), but the tool was 95% busy: 0.8 x 0.8 / 0.95.
    const adjustment = adjustQuota(input());
    expect(adjustment?.quotaCores).toBe(0.67);
    expect(adjustment?.why).toMatch(/lowered by 80%\/95% \(its costs gave none lower\)/);
  });

  it('leaves a tool below 90% alone, stops after three, and never raises the quota', () => {
    expect(adjustQuota(input({ costs: [cost('1b', 10, 10, 0.89)] }))).toBeNull();
    expect(adjustQuota(input({ adjustmentsSoFar: MAX_QUOTA_ADJUSTMENTS }))).toBeNull();
    expect(adjustQuota(input({ adjustmentsSoFar: MAX_QUOTA_ADJUSTMENTS - 1 }))).not.toBeNull();
    expect(adjustQuota(input({ quotaCores: 0.1 }))).toBeNull();
    // A saturated tool but costs that would allow more than the current quota: lowered, not raised.
    const cheap = adjustQuota(input({ quotaCores: 0.5, costs: [cost('1b', 40, 10, 0.92)] }));
    expect(cheap?.quotaCores).toBe(0.43);
    expect(adjustQuota(input({ costs: [] }))).toBeNull();
  });

  it('caps a group that ran uncapped when the tool saturates during its rounds', () => {
    const adjustment = adjustQuota(input({ quotaCores: null, costs: [cost('2a', 7, 7, 0.93)] }));
    expect(adjustment?.quotaCores).toBe(0.8);
  });

  it('takes the CPUs the tool shares with the servers into account when unpinned', () => {
    const adjustment = adjustQuota(
      input({
        quotaCores: 1.2,
        toolCores: 2,
        serverCores: 2,
        sharedCpus: 2,
        costs: [cost('2a', 10, 10, 0.95)],
      }),
    );
    expect(adjustment?.quotaCores).toBe(0.88);
  });
});

describe('topology.calibration in results.json', () => {
  it('reads a calibrated file from before re-checks and adjustments were recorded: none of either', async () => {
    const path = join(import.meta.dirname, '..', '..', '..', 'results', 'sample', 'results.json');
    const raw = JSON.parse(await readFile(path, 'utf8'));
    // A group as the first calibrated runs (2026-12-03 morning) wrote it.
    raw.topology.calibration = {
      method: 'server-quota',
      reason: 'two CPUs',
      groups: [
        {
          group: '40B',
          costs: [cost('2a', 13.2, 14, 0.93)],
          toolBusyFraction: 0.93,
          serverQuotaCores: 0.78,
          toolCpus: null,
          headroomFraction: 0.16,
          decision: '40B: servers capped at 0.78 CPU',
        },
      ],
    };
    const group = parseResults(JSON.stringify(raw), path).topology.calibration!.groups[0]!;
    expect(group.rechecks).toEqual([]);
    expect(group.adjustments).toEqual([]);
    expect(
      parseResults(serializeResults(parseResults(JSON.stringify(raw), path))).topology.calibration,
    ).toEqual(parseResults(JSON.stringify(raw), path).topology.calibration);
  });

  it('reads as null from files written before it existed (version 1 and the shipped sample)', async () => {
    for (const path of [
      join(import.meta.dirname, 'fixtures', 'smoke-results-v1.json'),
      join(import.meta.dirname, '..', '..', '..', 'results', 'sample', 'results.json'),
    ]) {
      const text = await readFile(path, 'utf8');
      expect(text).not.toContain('"calibration"');
      const results = parseResults(text, path);
      expect(results.topology.calibration, path).toBeNull();
      expect(parseResults(serializeResults(results)).topology.calibration).toBeNull();
    }
  });
});
