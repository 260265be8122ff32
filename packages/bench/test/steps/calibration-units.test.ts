import { buildPlan, type PlanGroup, selectScenarios } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { calibrationUnits } from '../../src/steps/calibrate.ts';
import { loadProfiles, loadSuite } from '../../src/suite-files.ts';

async function group(overrides: Record<string, unknown>): Promise<PlanGroup> {
  const suite = await loadSuite();
  const smoke = (await loadProfiles()).smoke!;
  const plan = buildPlan({
    scenarios: selectScenarios(suite, ['2a', 'nginx-2']),
    profile: { ...smoke, ...overrides },
    cpus: [0, 1],
  });
  return plan.groups[0]!;
}

const unitsOf = (g: PlanGroup) => calibrationUnits(g).map((u) => [u.key, u.instances.map((i) => i.id)]);

describe('calibration units: the servers at one sweep point get one quota', () => {
  it('is the group itself when it has one point', async () => {
    expect(unitsOf(await group({}))).toEqual([['40B', ['2a', 'nginx-2']]]);
  });

  it('splits a connection sweep by point, each with its baseline', async () => {
    expect(unitsOf(await group({ connections: [16, 256] }))).toEqual([
      ['40B c16', ['2a@c16', 'nginx-2@c16']],
      ['40B c256', ['2a@c256', 'nginx-2@c256']],
    ]);
  });

  it("keeps a server's rate steps together: they are shares of one warm-up's capacity", async () => {
    const units = unitsOf(await group({ connections: [16, 64], rates: ['25%', '50%'] }));
    expect(units.map(([key]) => key)).toEqual(['40B c16', '40B c64']);
    expect(units[0]![1]).toEqual(expect.arrayContaining(['2a@c16,r25%', '2a@c16,r50%', 'nginx-2@c16,r50%']));
    expect(units[0]![1]).toHaveLength(4);
  });
});
