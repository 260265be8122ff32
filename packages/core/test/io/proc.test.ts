import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ProcessCpuReader, readProcessCpu } from '../../src/io/proc.ts';

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy on purpose: the reader must see this CPU time.
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
      burn(300);
      const second = reader.read()!;
      // 300 ms of busy loop is 30 ticks; allow for a loaded machine.
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
