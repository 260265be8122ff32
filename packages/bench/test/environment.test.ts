import { readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { localHost } from '@scaleup/hosts';
import { describe, expect, it } from 'vitest';
import {
  collectEnvironment,
  countPhysicalCores,
  parseOpenFilesLimit,
  readMachine,
} from '../src/environment.ts';

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

describe('a machine read through its Host', () => {
  it('reads this machine through localHost() as the environment records it', async () => {
    const host = localHost();
    try {
      const machine = await readMachine(host);
      expect(machine.facts.hostname).toBe(hostname());
      expect(machine.facts.kernel).toBe(release());
      expect(machine.sysctls['net.core.somaxconn']).toMatch(/^\d+$/);
      expect(machine.openFilesHard).toBeGreaterThan(0);
      const environment = await collectEnvironment({
        nginx: { version: null, path: null, missing: 'not needed here' },
        tools: [],
        repoDir: fileURLToPath(new URL('../../..', import.meta.url)),
      });
      expect(environment).toMatchObject({
        hostname: machine.facts.hostname,
        cpuModel: machine.cpuModel,
        physicalCores: machine.physicalCores,
        sysctls: machine.sysctls,
        openFilesSoft: machine.openFilesSoft,
        distribution: machine.distribution,
      });
      expect(environment.git.commit).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      await host.close();
    }
  });
});
