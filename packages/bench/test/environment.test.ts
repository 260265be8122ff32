import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countPhysicalCores, parseOpenFilesLimit } from '../src/environment.ts';

describe('environment parsing', () => {
  it('counts physical cores from a real /proc/cpuinfo', () => {
    const cpuinfo = readFileSync(new URL('fixtures/cpuinfo-2vcpu.txt', import.meta.url), 'utf8');
    expect(countPhysicalCores(cpuinfo)).toBeGreaterThanOrEqual(1);
    const smt =
      'physical id\t: 0\ncore id\t\t: 0\n\nphysical id\t: 0\ncore id\t\t: 0\n\nphysical id\t: 0\ncore id\t\t: 1\n';
    expect(countPhysicalCores(smt)).toBe(2);
    expect(countPhysicalCores('processor : 0\n')).toBeNull();
  });

  it('reads the open-files limits', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\n';
    expect(parseOpenFilesLimit(limits)).toEqual({ soft: 1024, hard: 20000 });
    expect(parseOpenFilesLimit('Max open files unlimited unlimited files').soft).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });
});
