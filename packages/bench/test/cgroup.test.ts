import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcessCpu } from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';
import { CpuQuotaGroup, findCgroupLayout, quotaWrites } from '../src/cgroup.ts';

const temporary: string[] = [];
afterEach(async () => {
  for (const dir of temporary.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function fakeTree(files: Record<string, string>): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'scaleup-cgroup-test-'));
  temporary.push(base);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(base, name, '..'), { recursive: true });
    await writeFile(join(base, name), content);
  }
  return base;
}

describe('finding a cgroup cpu controller', () => {
  it('prefers cgroup v2 when it offers cpu', async () => {
    const base = await fakeTree({ 'cgroup.controllers': 'cpuset cpu io memory pids\n' });
    expect(findCgroupLayout(base)).toEqual({ version: 2, root: base });
  });

  it('says so when v2 lacks cpu, and falls back to v1 only on a v1 machine', async () => {
    const v2 = await fakeTree({ 'cgroup.controllers': 'memory pids\n' });
    expect(findCgroupLayout(v2)).toEqual({
      version: null,
      reason: `cgroup v2 at ${v2} does not offer the cpu controller`,
    });
    const v1 = await fakeTree({ 'cpu/cpu.cfs_quota_us': '-1\n' });
    expect(findCgroupLayout(v1)).toEqual({ version: 1, root: join(v1, 'cpu') });
    const none = await fakeTree({});
    expect(findCgroupLayout(none)).toEqual({
      version: null,
      reason: `no cgroup cpu controller under ${none}`,
    });
  });

  it("writes the quota in each version's format, per 10 ms period (short stalls under the cap)", () => {
    expect(quotaWrites(2, 0.6)).toEqual([['cpu.max', '6000 10000']]);
    expect(quotaWrites(1, 1.5)).toEqual([
      ['cpu.cfs_period_us', '10000'],
      ['cpu.cfs_quota_us', '15000'],
    ]);
  });

  it('writes no cap as each version spells it', () => {
    expect(quotaWrites(2, null)).toEqual([['cpu.max', 'max 10000']]);
    expect(quotaWrites(1, null)).toEqual([['cpu.cfs_quota_us', '-1']]);
  });

  it('changes the quota of a group it made, and lifts it', async () => {
    const base = await fakeTree({ 'cgroup.controllers': 'cpu memory\n' });
    const group = await CpuQuotaGroup.create(null, base);
    const cpuMax = () => readFile(join(group.path, 'cpu.max'), 'utf8');
    expect(group.quotaCores).toBeNull();
    expect(await cpuMax()).toBe('max 10000');
    await group.setQuota(0.45);
    expect(group.quotaCores).toBe(0.45);
    expect(await cpuMax()).toBe('4500 10000');
    await group.setQuota(null);
    expect(await cpuMax()).toBe('max 10000');
  });

  it("removes the empty groups of runs that are gone, not a live run's", async () => {
    const base = await fakeTree({ 'cgroup.controllers': 'cpu memory\n' });
    // A pid past pid_max is never alive; the test runner's parent always is.
    const dead = join(base, 'scaleup-bench-4194305');
    const live = join(base, `scaleup-bench-${process.ppid}`);
    const other = join(base, 'someone-else');
    for (const dir of [dead, live, other]) await mkdir(dir);
    const group = await CpuQuotaGroup.create(null, base);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(group.path)).toBe(true);
  });

  it('names the problem when the group cannot be made', async () => {
    const none = await fakeTree({});
    await expect(CpuQuotaGroup.create(0.5, none)).rejects.toThrow(
      `cannot cap the servers' CPU: no cgroup cpu controller under ${none}`,
    );
  });
});

const root = process.getuid?.() === 0;
const layout = findCgroupLayout();

// Needs root and a real cgroup hierarchy (CI runs as root); elsewhere the unit tests above stand.
describe.skipIf(!root || layout.version === null)('a real CPU quota group', () => {
  it('caps a process it is given, and goes away once the process has', async () => {
    const group = await CpuQuotaGroup.create(0.25);
    const child = spawn(process.execPath, [
      '-e',
      'const end = Date.now() + 10_000; while (Date.now() < end);',
    ]);
    try {
      await once(child, 'spawn');
      await group.add(child.pid!);
      expect(group.contains(child.pid!)).toBe(true);
      // A measuring window, divided by its real length: a loaded machine may stretch it.
      await new Promise((r) => setTimeout(r, 1000));
      const first = await readProcessCpu(child.pid!);
      const from = performance.now();
      await new Promise((r) => setTimeout(r, 1000));
      const second = await readProcessCpu(child.pid!);
      const seconds = (performance.now() - from) / 1000;
      const used = second!.userSeconds + second!.systemSeconds - (first!.userSeconds + first!.systemSeconds);
      // A busy loop held to 0.25 CPU: about 0.25 s per second, never a whole CPU. Other work on
      // the machine can only lower it, so the floor just shows that it ran.
      expect(used / seconds).toBeLessThan(0.45);
      expect(used).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => {});
    }
    await group.remove();
    expect(existsSync(group.path)).toBe(false);
  });
});
