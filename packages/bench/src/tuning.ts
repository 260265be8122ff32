import { type Environment, type Profile, SERVER_DEFAULT_BACKLOG, type TuningCheck } from '@scaleup/core';

/** The sysctls the seed's author set before measuring, and the values he used. */
export const SEED_SYSCTLS: readonly {
  key: string;
  recommended: string;
  minimum: number | null;
  impact: string;
}[] = [
  {
    key: 'net.core.somaxconn',
    recommended: '8192',
    minimum: 8192,
    impact: 'caps every listen backlog; a full accept queue drops or resets new connections',
  },
  {
    key: 'net.ipv4.tcp_max_syn_backlog',
    recommended: '8192',
    minimum: 8192,
    impact: 'half-open connections queued during a connection storm',
  },
  {
    key: 'net.ipv4.tcp_max_orphans',
    recommended: '8192',
    minimum: 8192,
    impact: 'closed-but-unacknowledged sockets kept before the kernel resets them',
  },
  {
    key: 'net.core.netdev_max_backlog',
    recommended: '262144',
    minimum: 262144,
    impact: 'packets queued per CPU before the stack processes them',
  },
  {
    key: 'net.ipv4.ip_local_port_range',
    recommended: '1024 65535',
    minimum: null,
    impact: 'ephemeral ports available to the load tool; each client connection needs one',
  },
  {
    key: 'fs.file-max',
    recommended: '16777216',
    minimum: 16777216,
    impact: 'open files on the whole system',
  },
  {
    key: 'fs.pipe-max-size',
    recommended: '134217728',
    minimum: 134217728,
    impact: 'largest pipe buffer (the seed raised it; scaleup does not rely on it)',
  },
];

/** The informational sysctls the seed listed; recorded, never judged. */
export const RECORDED_SYSCTLS: readonly string[] = [
  'fs.nr_open',
  'net.core.optmem_max',
  'net.ipv4.tcp_mem',
  'net.core.rmem_default',
  'net.core.rmem_max',
  'net.ipv4.tcp_rmem',
  'net.core.wmem_default',
  'net.core.wmem_max',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_fastopen',
  'net.ipv4.tcp_window_scaling',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.tcp_syncookies',
];

export const SEED_OPEN_FILES = 1048576;
/** Descriptors a process needs beyond one per connection: stdio, listeners, logs, pipes. */
const FD_MARGIN = 64;

export interface TuningInput {
  sysctls: Record<string, string | null>;
  openFilesSoft: number | null;
  openFilesHard: number | null;
  /** The most connections any one process of the run will hold (client or server side). */
  connections: number;
  /** The listen backlog the servers ask for. */
  backlog: number;
}

function portRangeWidth(value: string | null): number | null {
  if (value === null) return null;
  const [low, high] = value.trim().split(/\s+/).map(Number);
  if (low === undefined || high === undefined || Number.isNaN(low) || Number.isNaN(high)) return null;
  return high - low + 1;
}

/**
 * Compares this machine with the seed's tuning and with what the planned run needs. Pure: the
 * caller reads the values; this only judges them and says what would fix each.
 */
export function checkTuning(input: TuningInput): TuningCheck[] {
  const checks: TuningCheck[] = [];
  for (const { key, recommended, minimum, impact } of SEED_SYSCTLS) {
    const actual = input.sysctls[key] ?? null;
    let ok: boolean;
    if (key === 'net.ipv4.ip_local_port_range') {
      const width = portRangeWidth(actual);
      ok = width !== null && width >= Math.min(64511, input.connections * 2);
    } else if (key === 'net.core.somaxconn') {
      ok = actual !== null && Number(actual) >= Math.min(minimum ?? 0, input.backlog);
    } else {
      ok = actual !== null && minimum !== null && Number(actual) >= minimum;
    }
    checks.push({ setting: key, actual, recommended, ok, impact, fix: `sysctl -w ${key}="${recommended}"` });
  }
  const needed = input.connections + FD_MARGIN;
  const soft = input.openFilesSoft;
  checks.push({
    setting: 'open files (ulimit -n, soft)',
    actual: soft === null ? null : String(soft),
    recommended: `>= ${needed} for ${input.connections} connections (seed: ${SEED_OPEN_FILES})`,
    ok: soft !== null && soft >= needed,
    impact: `each process holding ${input.connections} connections needs ${needed} descriptors; short of that, accepts and connects fail with EMFILE`,
    fix:
      input.openFilesHard !== null && input.openFilesHard >= needed
        ? `ulimit -n ${input.openFilesHard}`
        : `raise the hard limit: add '* - nofile ${SEED_OPEN_FILES}' and 'root - nofile ${SEED_OPEN_FILES}' to /etc/security/limits.conf, log in again, then ulimit -n ${SEED_OPEN_FILES}`,
  });
  return checks;
}

/** The checks that limit this run's results, as warnings. */
export function tuningWarnings(checks: readonly TuningCheck[], connections: number): string[] {
  return checks
    .filter((c) => !c.ok)
    .filter(
      (c) => c.setting.startsWith('open files') || c.setting === 'net.core.somaxconn' || connections >= 1000,
    )
    .map(
      (c) =>
        `${c.setting} is ${c.actual ?? 'unknown'} (recommended ${c.recommended}): ${c.impact}. Fix: ${c.fix}`,
    );
}

/** The most connections one process of a run holds: the profile's, or its baseline's if larger. */
export function peakConnections(profile: Pick<Profile, 'connections' | 'baselineConnections'>): number {
  const connections = Array.isArray(profile.connections) ? profile.connections : [profile.connections];
  return Math.max(...connections, profile.baselineConnections ?? 0);
}

/** The tuning check for running `profile` on the machine `environment` describes. */
export function checkTuningFor(environment: Environment, profile: Profile): TuningCheck[] {
  return checkTuning({
    sysctls: environment.sysctls,
    openFilesSoft: environment.openFilesSoft,
    openFilesHard: environment.openFilesHard,
    connections: peakConnections(profile),
    backlog: SERVER_DEFAULT_BACKLOG,
  });
}
