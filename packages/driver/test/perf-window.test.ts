import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { detectPerf, PerfError, startProfile } from '../src/perf.ts';

const perf = await detectPerf();
const children: { kill(): boolean }[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** A process that spins for at most `seconds`: something for perf to sample, bounded. */
function spinner(seconds: number) {
  const child = execa('python3', ['-c', `import time\ne=time.time()+${seconds}\nwhile time.time()<e: pass`], {
    reject: false,
  });
  children.push(child);
  return child;
}

describe.runIf(perf.ok)('a profile window (perf record until stop)', () => {
  it('samples a process from start() to stop(), however long that was', async () => {
    const child = spinner(20);
    const window = await startProfile({
      perf: perf.ok ? perf.path : 'perf',
      pids: [child.pid!],
      maxSeconds: 30,
    });
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 800));
    const profile = await window.stop();
    // Stopped long before the bound: the window is the time asked for, not maxSeconds.
    expect(profile.seconds).toBeLessThan(10);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(profile.breakdown.samples).toBeGreaterThan(100);
    expect(profile.breakdown.threads.map((t) => t.name)).toContain('python3');
  });

  it("is perf's own reason as a PerfError when perf cannot sample the pid", async () => {
    const gone = spinner(0);
    await gone;
    const failed = await startProfile({
      perf: perf.ok ? perf.path : 'perf',
      pids: [gone.pid!],
      maxSeconds: 5,
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(PerfError);
    expect((failed as Error).message).toMatch(/^perf record failed \(exit \d+\): .*No such process/);
  });
});
