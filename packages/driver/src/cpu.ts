import { readFile } from 'node:fs/promises';
import { CLOCK_TICKS_PER_SECOND, ProcessCpuReader, procStatFields } from '@scaleup/core/io';

/** Two ticks: the rounding the kernel's per-tick accounting can add to either figure. */
const SLACK_SECONDS = 2 / CLOCK_TICKS_PER_SECOND;

export interface CpuSeconds {
  userSeconds: number;
  systemSeconds: number;
}

/**
 * CPU time of this process's children that have been waited for: fields 16 and 17 (cutime,
 * cstime) of /proc/self/stat. Null off Linux.
 */
export async function reapedChildrenCpu(): Promise<CpuSeconds | null> {
  try {
    const fields = procStatFields(await readFile('/proc/self/stat', 'utf8'));
    // Fields after the command name start at field 3, so field 16 is index 13.
    return {
      userSeconds: Number(fields[13]) / CLOCK_TICKS_PER_SECOND,
      systemSeconds: Number(fields[14]) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return null;
  }
}

/**
 * Measures one child's CPU time over its whole life.
 *
 * The exact figure is the growth of this process's cutime/cstime from before the spawn to after
 * the reap: it includes the child's last milliseconds and all its threads, which sampling
 * /proc/<pid>/stat cannot see (the file is gone once the child is reaped). But it also counts any
 * other child of this process reaped meanwhile. So /proc/<pid>/stat is sampled too while the child
 * runs: the last sample is a lower bound, and the child cannot have used more than `cores` seconds
 * per second since. A delta inside those bounds is the child's own; outside them, the last sample
 * is taken and the result says so.
 */
export class ChildCpuMeter {
  #before: CpuSeconds | null = null;
  #sample: { cpu: CpuSeconds; atMs: number } | null = null;
  #timer: NodeJS.Timeout | undefined;
  #reader: ProcessCpuReader | null = null;

  async start(): Promise<void> {
    this.#before = await reapedChildrenCpu();
  }

  /**
   * Samples `pid` every `intervalMs` until stop(). Every wake-up of this process costs the load
   * tool sharing its core: with the tool flat out, the harness took ~0.5% of a core during a run
   * at 100 ms, ~0.15% at 500 ms and ~0.1% not sampling at all. The sample is only a plausibility
   * bound, so the coarser period loses nothing.
   */
  watch(pid: number, intervalMs = 500): void {
    const reader = new ProcessCpuReader(pid);
    this.#reader = reader;
    this.#timer = setInterval(() => {
      const cpu = reader.read();
      if (cpu !== null) this.#sample = { cpu, atMs: performance.now() };
    }, intervalMs);
    this.#timer.unref();
  }

  /** Call after the child was reaped. */
  async stop(cores: number): Promise<{ cpu: CpuSeconds; note: string | null } | null> {
    clearInterval(this.#timer);
    this.#reader?.close();
    this.#reader = null;
    const endMs = performance.now();
    const after = await reapedChildrenCpu();
    const sample = this.#sample;
    if (this.#before === null || after === null) {
      return sample === null ? null : { cpu: sample.cpu, note: 'tool CPU from the last /proc sample' };
    }
    // Rounded to whole ticks, which is all the kernel's accounting resolves.
    const ticks = (s: number) => Math.max(0, Math.round(s * CLOCK_TICKS_PER_SECOND) / CLOCK_TICKS_PER_SECOND);
    const delta: CpuSeconds = {
      userSeconds: ticks(after.userSeconds - this.#before.userSeconds),
      systemSeconds: ticks(after.systemSeconds - this.#before.systemSeconds),
    };
    if (sample === null) return { cpu: delta, note: null };
    const total = (c: CpuSeconds) => c.userSeconds + c.systemSeconds;
    const upper = total(sample.cpu) + ((endMs - sample.atMs) / 1000) * cores + SLACK_SECONDS;
    if (total(delta) >= total(sample.cpu) - SLACK_SECONDS && total(delta) <= upper) {
      return { cpu: delta, note: null };
    }
    return {
      cpu: sample.cpu,
      note: 'tool CPU from the last /proc sample: another child of this process ended during the run',
    };
  }
}
