import { describe, expect, it } from 'vitest';
import { checkTuning, tuningWarnings } from '../src/tuning.ts';

const seedTuned = {
  'net.core.somaxconn': '8192',
  'net.ipv4.tcp_max_syn_backlog': '8192',
  'net.ipv4.tcp_max_orphans': '8192',
  'net.core.netdev_max_backlog': '262144',
  'net.ipv4.ip_local_port_range': '1024 65535',
  'fs.file-max': '16777216',
  'fs.pipe-max-size': '134217728',
};

describe('tuning check', () => {
  it('passes a machine tuned as the seed was', () => {
    const checks = checkTuning({
      sysctls: seedTuned,
      openFilesSoft: 1048576,
      openFilesHard: 1048576,
      connections: 4000,
      backlog: 8192,
    });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('flags the open-files limit against the concurrency asked, with a fix', () => {
    const checks = checkTuning({
      sysctls: seedTuned,
      openFilesSoft: 1024,
      openFilesHard: 20000,
      connections: 4000,
      backlog: 8192,
    });
    const files = checks.find((c) => c.setting.startsWith('open files'))!;
    expect(files.ok).toBe(false);
    expect(files.recommended).toContain('4064');
    expect(files.fix).toBe('ulimit -n 20000');
    const hardTooLow = checkTuning({
      sysctls: seedTuned,
      openFilesSoft: 1024,
      openFilesHard: 1024,
      connections: 4000,
      backlog: 8192,
    });
    expect(hardTooLow.find((c) => c.setting.startsWith('open files'))!.fix).toContain('limits.conf');
  });

  it('judges somaxconn against the backlog and the port range against connections', () => {
    const sysctls = {
      ...seedTuned,
      'net.core.somaxconn': '4096',
      'net.ipv4.ip_local_port_range': '32768 60999',
    };
    const small = checkTuning({
      sysctls,
      openFilesSoft: 20000,
      openFilesHard: 20000,
      connections: 128,
      backlog: 1024,
    });
    expect(small.find((c) => c.setting === 'net.core.somaxconn')!.ok).toBe(true);
    expect(small.find((c) => c.setting === 'net.ipv4.ip_local_port_range')!.ok).toBe(true);
    const big = checkTuning({
      sysctls,
      openFilesSoft: 20000,
      openFilesHard: 20000,
      connections: 20000,
      backlog: 8192,
    });
    const somaxconn = big.find((c) => c.setting === 'net.core.somaxconn')!;
    expect(somaxconn.ok).toBe(false);
    expect(somaxconn.fix).toBe('sysctl -w net.core.somaxconn="8192"');
    expect(big.find((c) => c.setting === 'net.ipv4.ip_local_port_range')!.ok).toBe(false);
  });

  it('treats unreadable values as not ok and warns only about what limits the run', () => {
    const checks = checkTuning({
      sysctls: {},
      openFilesSoft: null,
      openFilesHard: null,
      connections: 100,
      backlog: 511,
    });
    expect(checks.every((c) => !c.ok)).toBe(true);
    const warnings = tuningWarnings(checks, 100);
    expect(warnings.some((w) => w.startsWith('open files'))).toBe(true);
    expect(warnings.some((w) => w.startsWith('fs.pipe-max-size'))).toBe(false);
  });
});
