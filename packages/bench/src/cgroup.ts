import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { processExists, waitFor } from '@scaleup/core/io';

/**
 * The CFS period the quota is expressed in: 10 ms, not the kernel's default 100 ms. A capped
 * server that spends its share early in a period waits for the next one, so the period bounds
 * the stalls the cap adds to its latency: measured here (40 B, 0.8 CPU, open loop at 75% of
 * capacity), our server's p99 was 12.6 ms under 100 ms periods and 3.3 ms under 10 ms ones.
 */
export const CPU_QUOTA_PERIOD_MICROSECONDS = 10_000;

export type CgroupLayout = { version: 2; root: string } | { version: 1; root: string };

/**
 * Where a CPU-quota group can be made: cgroup v2 when the unified hierarchy offers the cpu
 * controller, else v1's cpu hierarchy. Null (with why) when neither is there.
 */
export function findCgroupLayout(base = '/sys/fs/cgroup'): CgroupLayout | { version: null; reason: string } {
  const controllers = join(base, 'cgroup.controllers');
  if (existsSync(controllers)) {
    const available = readFileSync(controllers, 'utf8').trim().split(/\s+/);
    if (available.includes('cpu')) return { version: 2, root: base };
    return { version: null, reason: `cgroup v2 at ${base} does not offer the cpu controller` };
  }
  const v1 = join(base, 'cpu');
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) return { version: 1, root: v1 };
  return { version: null, reason: `no cgroup cpu controller under ${base}` };
}

/** The files that cap a group at `cores` CPUs (null: no cap), with what to write into each. */
export function quotaWrites(version: 1 | 2, cores: number | null): [file: string, content: string][] {
  if (cores === null) {
    return version === 2
      ? [['cpu.max', `max ${CPU_QUOTA_PERIOD_MICROSECONDS}`]]
      : [['cpu.cfs_quota_us', '-1']];
  }
  const quota = Math.round(cores * CPU_QUOTA_PERIOD_MICROSECONDS);
  if (version === 2) return [['cpu.max', `${quota} ${CPU_QUOTA_PERIOD_MICROSECONDS}`]];
  return [
    ['cpu.cfs_period_us', String(CPU_QUOTA_PERIOD_MICROSECONDS)],
    ['cpu.cfs_quota_us', String(quota)],
  ];
}

/**
 * The empty groups of runs that are gone: a run killed outright, or one whose exit outran its
 * servers' (the group cannot go while a process is in it). rmdir removes a cgroup only when no
 * process is in it, so a live run's group, or one still emptying, stays.
 */
async function removeDeadRunsGroups(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const pid = /^scaleup-bench-(\d+)$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || processExists(Number(pid))) continue;
    await rmdir(join(root, name)).catch(() => {});
  }
}

/**
 * A cgroup that caps the servers under test at a fraction of a CPU, so that on a small machine
 * they, not the load tool, are the bottleneck: with both servers held to the same budget, the
 * ratio of their req/s is the ratio of their efficiency, whatever the tool costs.
 *
 * Processes are moved in by pid after they start (their later children inherit the group). The
 * group is named after this process and removed at the end; a SIGKILLed run leaves an empty
 * group behind, which costs nothing.
 */
export class CpuQuotaGroup {
  private constructor(
    readonly path: string,
    private readonly version: 1 | 2,
    private current: number | null,
  ) {}

  /** The group capped at `cores` CPUs; null: no cap yet (a calibration sets one per group). */
  static async create(cores: number | null, base = '/sys/fs/cgroup'): Promise<CpuQuotaGroup> {
    const layout = findCgroupLayout(base);
    if (layout.version === null) throw new Error(`cannot cap the servers' CPU: ${layout.reason}`);
    const path = join(layout.root, `scaleup-bench-${process.pid}`);
    await removeDeadRunsGroups(layout.root);
    try {
      await mkdir(path, { recursive: true });
      for (const [file, content] of quotaWrites(layout.version, cores))
        await writeFile(join(path, file), content);
    } catch (error) {
      await rmdir(path).catch(() => {});
      const code = (error as NodeJS.ErrnoException).code;
      const hint = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ' (needs root)' : '';
      throw new Error(
        `cannot cap the servers' CPU with a cgroup at ${path}: ${(error as Error).message}${hint}`,
      );
    }
    return new CpuQuotaGroup(path, layout.version, cores);
  }

  /** The cap now, in CPUs; null: none. */
  get quotaCores(): number | null {
    return this.current;
  }

  /** Changes the cap of the group (and of every process in it) to `cores` CPUs; null lifts it. */
  async setQuota(cores: number | null): Promise<void> {
    for (const [file, content] of quotaWrites(this.version, cores))
      await writeFile(join(this.path, file), content);
    this.current = cores;
  }

  /** Moves a process (all its threads) into the group. */
  async add(pid: number): Promise<void> {
    await writeFile(join(this.path, 'cgroup.procs'), String(pid));
  }

  /** Whether `pid` is in this group now, from /proc/<pid>/cgroup. */
  contains(pid: number): boolean {
    try {
      const name = basename(this.path);
      return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .some((line) => line.endsWith(`/${name}`));
    } catch {
      return false;
    }
  }

  /** Removes the group once its processes are gone (they must have been stopped before). */
  async remove(): Promise<void> {
    await waitFor(
      async () => {
        try {
          await rmdir(this.path);
          return true;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'ENOENT' ? true : undefined;
        }
      },
      { timeoutMs: 3000, intervalMs: 50, what: `the CPU quota cgroup ${this.path} to empty` },
    );
  }
}
