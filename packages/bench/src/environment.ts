import type { Environment, ToolInfo } from '@scaleup/core';
import { type Host, type HostFacts, localHost } from '@scaleup/hosts';
import { RECORDED_SYSCTLS, SEED_SYSCTLS } from './tuning.ts';

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

/** Everything about one machine a reader needs to judge the numbers, read through its Host. */
export interface MachineReading {
  facts: HostFacts;
  /** The CPU model: the host's own answer, else /proc/cpuinfo's model name. */
  cpuModel: string;
  physicalCores: number | null;
  smt: boolean | null;
  distribution: string | null;
  virtualisation: string | null;
  cpuGovernor: string | null;
  openFilesSoft: number | null;
  openFilesHard: number | null;
  sysctls: Record<string, string | null>;
}

async function readTrimmed(host: Host, path: string): Promise<string | null> {
  const text = await host.readFile(path);
  return text === null ? null : text.trim();
}

/** The sysctls the tuning checks and the report record, whitespace collapsed (null where unreadable). */
async function readSysctls(host: Host): Promise<Record<string, string | null>> {
  const keys = [...SEED_SYSCTLS.map((s) => s.key), ...RECORDED_SYSCTLS];
  const values = await Promise.all(
    keys.map(async (key) => {
      const text = await readTrimmed(host, `/proc/sys/${key.replaceAll('.', '/')}`);
      return [key, text === null ? null : text.replace(/\s+/g, ' ')] as const;
    }),
  );
  return Object.fromEntries(values);
}

async function detectVirtualisation(host: Host, cpuinfo: string): Promise<string | null> {
  const answer = await host.exec('systemd-detect-virt', [], { timeoutMs: 2000 }).catch(() => null);
  const text = answer?.stdout.trim() ?? '';
  if (answer?.exitCode === 0 && text !== '' && text !== 'none') return text;
  if (text === 'none') return 'none';
  // Not installed: fall back to the CPU flag.
  return /\bhypervisor\b/.test(cpuinfo) ? 'hypervisor (kind unknown)' : null;
}

/** One machine, local or over ssh alike: the host's facts, /proc and /sys, its limits and sysctls. */
export async function readMachine(host: Host): Promise<MachineReading> {
  const [facts, cpuinfoText, osRelease, limits, smtActive, cpuGovernor, sysctls] = await Promise.all([
    host.describe(),
    readTrimmed(host, '/proc/cpuinfo'),
    readTrimmed(host, '/etc/os-release'),
    readTrimmed(host, '/proc/self/limits'),
    readTrimmed(host, '/sys/devices/system/cpu/smt/active'),
    readTrimmed(host, '/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'),
    readSysctls(host),
  ]);
  const cpuinfo = cpuinfoText ?? '';
  const openFiles = parseOpenFilesLimit(limits ?? '');
  return {
    facts,
    cpuModel: facts.cpuModel || (/^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown'),
    physicalCores: countPhysicalCores(cpuinfo),
    smt: smtActive === null ? null : smtActive === '1',
    distribution: /^PRETTY_NAME="?([^"\n]+)"?/m.exec(osRelease ?? '')?.[1] ?? null,
    virtualisation: await detectVirtualisation(host, cpuinfo),
    cpuGovernor,
    openFilesSoft: openFiles.soft,
    openFilesHard: openFiles.hard,
    sysctls,
  };
}

async function gitState(host: Host, cwd: string): Promise<{ commit: string | null; dirty: boolean | null }> {
  const git = (args: string[]) =>
    host.exec('git', args, { cwd, timeoutMs: 5000 }).catch(() => ({ exitCode: null, stdout: '' }));
  const commit = await git(['rev-parse', 'HEAD']);
  if (commit.exitCode !== 0) return { commit: null, dirty: null };
  const status = await git(['status', '--porcelain', '--untracked-files=no']);
  return { commit: commit.stdout.trim(), dirty: status.exitCode === 0 ? status.stdout.trim() !== '' : null };
}

export interface EnvironmentExtras {
  nginx: Environment['nginx'];
  tools: ToolInfo[];
  repoDir: string;
}

/** This machine as results.json records it: the machine, plus its tools, nginx and checkout. */
export async function collectEnvironment(extras: EnvironmentExtras): Promise<Environment> {
  const host = localHost();
  try {
    const [machine, git] = await Promise.all([readMachine(host), gitState(host, extras.repoDir)]);
    const { facts } = machine;
    return {
      hostname: facts.hostname,
      cpuModel: machine.cpuModel,
      physicalCores: machine.physicalCores,
      logicalCores: facts.logicalCores ?? 0,
      smt: machine.smt,
      memoryBytes: facts.memoryBytes,
      kernel: facts.kernel,
      distribution: machine.distribution,
      virtualisation: machine.virtualisation,
      cpuGovernor: machine.cpuGovernor,
      nodeVersion: facts.nodeVersion,
      nginx: extras.nginx,
      tools: extras.tools,
      openFilesSoft: machine.openFilesSoft,
      openFilesHard: machine.openFilesHard,
      sysctls: machine.sysctls,
      git,
    };
  } finally {
    await host.close();
  }
}
