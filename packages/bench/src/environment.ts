import { readFile } from 'node:fs/promises';
import { cpus, hostname, release, totalmem } from 'node:os';
import type { Environment, ToolInfo } from '@scaleup/core';
import { execa } from 'execa';
import { RECORDED_SYSCTLS, SEED_SYSCTLS } from './tuning.ts';

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

export async function readSysctl(key: string): Promise<string | null> {
  const value = await readText(`/proc/sys/${key.replaceAll('.', '/')}`);
  return value === null ? null : value.replace(/\s+/g, ' ');
}

/** Distinct (physical id, core id) pairs; null when /proc/cpuinfo does not say. */
export function countPhysicalCores(cpuinfo: string): number | null {
  const cores = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const physical = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (physical !== undefined && core !== undefined) cores.add(`${physical}:${core}`);
  }
  return cores.size > 0 ? cores.size : null;
}

/** "Max open files" soft and hard limits from /proc/self/limits ("unlimited" as Infinity). */
export function parseOpenFilesLimit(limits: string): { soft: number | null; hard: number | null } {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const toNumber = (s: string | undefined) =>
    s === undefined ? null : s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s);
  return { soft: toNumber(match?.[1]), hard: toNumber(match?.[2]) };
}

async function detectVirtualisation(cpuinfo: string): Promise<string | null> {
  try {
    const { stdout, exitCode } = await execa('systemd-detect-virt', [], { reject: false, timeout: 2000 });
    const answer = stdout.trim();
    if (exitCode === 0 && answer !== '' && answer !== 'none') return answer;
    if (answer === 'none') return 'none';
  } catch {
    // Not installed: fall back to the CPU flag.
  }
  return /\bhypervisor\b/.test(cpuinfo) ? 'hypervisor (kind unknown)' : null;
}

async function gitState(cwd: string): Promise<{ commit: string | null; dirty: boolean | null }> {
  const commit = await execa('git', ['rev-parse', 'HEAD'], { cwd, reject: false, timeout: 5000 });
  if (commit.exitCode !== 0) return { commit: null, dirty: null };
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd,
    reject: false,
    timeout: 5000,
  });
  return { commit: commit.stdout.trim(), dirty: status.exitCode === 0 ? status.stdout.trim() !== '' : null };
}

export interface EnvironmentExtras {
  nginx: Environment['nginx'];
  tools: ToolInfo[];
  repoDir: string;
}

/** Everything about the machine a reader needs to judge or reproduce the numbers. */
export async function collectEnvironment(extras: EnvironmentExtras): Promise<Environment> {
  const cpuinfo = (await readText('/proc/cpuinfo')) ?? '';
  const osRelease = (await readText('/etc/os-release')) ?? '';
  const limits = parseOpenFilesLimit((await readText('/proc/self/limits')) ?? '');
  const smtActive = await readText('/sys/devices/system/cpu/smt/active');
  const sysctls: Record<string, string | null> = {};
  for (const key of [...SEED_SYSCTLS.map((s) => s.key), ...RECORDED_SYSCTLS])
    sysctls[key] = await readSysctl(key);
  const cpuList = cpus();
  return {
    hostname: hostname(),
    cpuModel: cpuList[0]?.model.trim() || (/^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown'),
    physicalCores: countPhysicalCores(cpuinfo),
    logicalCores: cpuList.length,
    smt: smtActive === null ? null : smtActive === '1',
    memoryBytes: totalmem(),
    kernel: release(),
    distribution: /^PRETTY_NAME="?([^"\n]+)"?/m.exec(osRelease)?.[1] ?? null,
    virtualisation: await detectVirtualisation(cpuinfo),
    cpuGovernor: await readText('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'),
    nodeVersion: process.version,
    nginx: extras.nginx,
    tools: extras.tools,
    openFilesSoft: limits.soft,
    openFilesHard: limits.hard,
    sysctls,
    git: await gitState(extras.repoDir),
  };
}
