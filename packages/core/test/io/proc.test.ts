import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ProcessCpuReader, readProcessCpu } from '../../src/io/proc.ts';

/**
 * Spends `cpuMs` of this process's own CPU time, however long that takes on a busy machine
 * (bounded at 60 s of wall time): a wall-clock busy loop gets only its share of a loaded core.
 */
function burnCpu(cpuMs: number): void {
  const start = process.cpuUsage();
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= cpuMs) return;
  }
}

describe('ProcessCpuReader', () => {
  it('reads the same figures as readProcessCpu, again and again through one descriptor', async () => {
    const reader = new ProcessCpuReader(process.pid);
    try {
      const first = reader.read();
      expect(first).not.toBeNull();
      const viaFile = await readProcessCpu(process.pid);
      expect(first!.pid).toBe(process.pid);
      expect(first!.userSeconds).toBeLessThanOrEqual(viaFile!.userSeconds);
      burnCpu(300);
      const second = reader.read()!;
      // 300 ms of this process's CPU is 30 ticks; the reader must see at least 10 of them.
      expect(second.userSeconds + second.systemSeconds).toBeGreaterThan(
        first!.userSeconds + first!.systemSeconds + 0.1,
      );
    } finally {
      reader.close();
    }
  });

  it('gives null once the process is gone, and for one that never was', async () => {
    const child = spawn('sleep', ['5']);
    await once(child, 'spawn');
    const reader = new ProcessCpuReader(child.pid!);
    expect(reader.read()).not.toBeNull();
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(reader.read()).toBeNull();
    reader.close();
    reader.close();
    expect(new ProcessCpuReader(2 ** 22 + 12345).read()).toBeNull();
  });
});
