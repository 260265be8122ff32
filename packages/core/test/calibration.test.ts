import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CalibrationSetting,
  calibrationText,
  chooseCalibration,
  serverQuotaFor,
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
  it('says what was decided and that absolute figures under a quota are per share of a core', () => {
    const text = calibrationText({
      method: 'server-quota',
      reason: 'two CPUs',
      groups: [
        {
          group: '40B',
          costs: [],
          toolBusyFraction: 0.97,
          serverQuotaCores: 0.81,
          toolCpus: null,
          headroomFraction: 0.22,
          decision: '',
        },
      ],
    });
    expect(text).toBe(
      'calibrated (server-quota): 40B servers capped at 0.81 CPU, tool headroom 22%; responses per second under a quota are per share of a core: ratios and efficiency compare across machines',
    );
  });
});

describe('topology.calibration in results.json', () => {
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
