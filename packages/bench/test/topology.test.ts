import { describe, expect, it } from 'vitest';
import { estimateRemainingSeconds, formatDuration } from '../src/eta.ts';
import { runDirectoryName } from '../src/results-dir.ts';
import { planTopology } from '../src/topology.ts';

describe('topology', () => {
  it('splits two CPUs one for the servers, one for the tool', () => {
    const t = planTopology('split', [0, 1]);
    expect(t).toMatchObject({ pinned: true, serverCpus: [0], loadCpus: [1] });
  });

  it('splits larger machines in halves and leaves the seed profile unpinned', () => {
    expect(planTopology('split', [0, 1, 2, 3, 4])).toMatchObject({ serverCpus: [0, 1], loadCpus: [2, 3, 4] });
    const seed = planTopology('none', [0, 1, 2, 3]);
    expect(seed.pinned).toBe(false);
  });

  it('records and describes a CPU quota for the servers', () => {
    const t = planTopology('split', [0, 1], 0.6);
    expect(t.serverCpuQuotaCores).toBe(0.6);
    expect(t.description).toBe(
      'server and nginx pinned to CPU 0; load tool pinned to CPU 1; servers capped at 0.6 CPU by a cgroup quota',
    );
    expect(planTopology('split', [0, 1]).serverCpuQuotaCores).toBeNull();
  });

  it('cannot split a single CPU and says so', () => {
    expect(planTopology('split', [0])).toMatchObject({
      pinned: false,
      description: expect.stringMatching(/only 1 CPU/),
    });
  });
});

describe('progress helpers', () => {
  it('formats durations', () => {
    expect([formatDuration(42), formatDuration(185), formatDuration(3720)]).toEqual([
      '42s',
      '3m05s',
      '1h02m',
    ]);
  });

  it('estimates from the plan first, then from measured runs', () => {
    expect(
      estimateRemainingSeconds({
        remainingRuns: 10,
        finishedRuns: 0,
        elapsedInRunsSeconds: 0,
        plannedSecondsPerRun: 5,
      }),
    ).toBe(60);
    expect(
      estimateRemainingSeconds({
        remainingRuns: 10,
        finishedRuns: 4,
        elapsedInRunsSeconds: 28,
        plannedSecondsPerRun: 5,
      }),
    ).toBe(70);
    expect(
      estimateRemainingSeconds({
        remainingRuns: 3,
        finishedRuns: 0,
        elapsedInRunsSeconds: 0,
        plannedSecondsPerRun: null,
      }),
    ).toBeNull();
  });

  it('names run directories by UTC time and host', () => {
    expect(runDirectoryName(new Date('2026-11-26T13:04:10Z'), 'my host')).toBe('20261126-130410-my_host');
  });
});
