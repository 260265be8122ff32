import { resolve } from 'node:path';
import type { RemoteOptions } from '@scaleup/bench';
import {
  ACCEPT_MODES,
  type formatIssues,
  type Hosts,
  type Profile,
  ProfileSchema,
  type Suite,
  UsageError,
} from '@scaleup/core';
import { choiceListOption, choiceOption, intListOption, intOption, numberOption } from '../args.ts';

/**
 * A run's settings come from three layers, each overriding the one before: the suite (its
 * profile name and hosts), the profile, the command line. They are merged first and validated
 * once, by the same ProfileSchema that checks the profiles file, so the command line can never
 * make a profile the file would refuse, and no rule is checked twice.
 */

export type BenchFlags = Record<string, string | boolean | string[] | undefined>;

/** What one layer sets, and what it takes away (a flag that switches a mode off). */
interface Layer {
  set: Partial<Profile>;
  unset: (keyof Profile)[];
  hosts: Hosts;
}

/** Where the run's processes go; every field present, undefined where no layer set it. */
export interface RunHosts extends RemoteOptions {
  sshConfig: string | undefined;
  remoteDir: string | undefined;
  serverAddress: string | undefined;
}

export interface BenchSettings {
  profileName: string;
  profile: Profile;
  remote: RunHosts;
}

/** The flag that sets each field, for messages in the command line's own words. */
const FLAG_OF: Record<string, string> = {
  requests: '--requests',
  durationSeconds: '--duration',
  repetitions: '--reps',
  targetCiPercent: '--target-ci',
  maxRepetitions: '--max-reps',
  timeBudgetSeconds: '--time-budget',
  connections: '--connections',
  threads: '--threads',
  workers: '--workers',
  serverCpus: '--server-cpus',
  accept: '--accept',
  warmupRuns: '--warmup-runs',
  nginxPreset: '--nginx-preset',
  pinning: '--no-pin',
  serverCpuQuotaCores: '--server-quota',
  calibrate: '--no-calibrate',
  rates: '--rates',
  slo: '--slo',
  'hosts.load': '--load-host',
  'hosts.server': '--server-host',
  'hosts.sshConfig': '--ssh-config',
  'hosts.remoteDir': '--remote-dir',
  'hosts.serverAddress': '--server-address',
};

/** The suite, the profile it names (or --profile) and the flags, merged and validated once. */
export function resolveSettings(
  suite: Suite,
  profiles: Record<string, Profile>,
  flags: BenchFlags,
): BenchSettings {
  const profileName = (flags.profile as string | undefined) ?? suite.profile ?? 'default';
  const base = profiles[profileName];
  if (base === undefined) {
    throw new UsageError(
      `unknown --profile '${profileName}' (profiles: ${Object.keys(profiles).join(', ')})`,
    );
  }
  // The command line wins over the profile, the profile over the suite.
  const merged = mergeLayers([
    { set: {}, unset: [], hosts: suite.hosts ?? {} },
    { set: base, unset: [], hosts: base.hosts ?? {} },
    flagLayer(flags),
  ]);
  const parsed = ProfileSchema.safeParse(merged);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues));
  return { profileName, profile: parsed.data, remote: remoteOf(parsed.data.hosts ?? {}) };
}

function mergeLayers(layers: readonly Layer[]): Record<string, unknown> {
  let profile: Record<string, unknown> = {};
  let hosts: Hosts = {};
  for (const layer of layers) {
    for (const key of layer.unset) delete profile[key];
    profile = { ...profile, ...layer.set };
    hosts = { ...hosts, ...layer.hosts };
  }
  return Object.keys(hosts).length === 0 ? profile : { ...profile, hosts };
}

/** Only the keys a flag gave: an absent flag leaves the layers below alone. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The command line as a layer: each flag parsed on its own (its syntax and range), nothing more. */
function flagLayer(flags: BenchFlags): Layer {
  const str = (key: string) => flags[key] as string | undefined;
  if (str('requests') !== undefined && str('duration') !== undefined) {
    throw new UsageError('--requests and --duration exclude each other');
  }
  const unset: (keyof Profile)[] = [];
  // A count and a duration are two modes: choosing one drops the profile's other.
  if (str('requests') !== undefined) unset.push('durationSeconds');
  if (str('duration') !== undefined) unset.push('requests');
  if (flags.adaptive === false) unset.push('targetCiPercent', 'maxRepetitions', 'timeBudgetSeconds');
  const connections = intListOption(str('connections'), 'connections', 1, 1_000_000);
  // Connections given for everyone: the baseline's own count no longer applies.
  if (connections !== undefined) unset.push('baselineConnections');
  const workersValue = str('workers');
  const workers =
    workersValue === 'auto' || workersValue === 'powers-of-two'
      ? workersValue
      : intListOption(workersValue, 'workers', 1, 1024);
  const set = defined<Partial<Profile>>({
    requests: str('requests') === undefined ? undefined : intOption(str('requests'), 'requests', 0, 1),
    durationSeconds:
      str('duration') === undefined ? undefined : intOption(str('duration'), 'duration', 0, 1, 86_400),
    repetitions: str('reps') === undefined ? undefined : intOption(str('reps'), 'reps', 0, 1, 1000),
    targetCiPercent:
      str('target-ci') === undefined ? undefined : numberOption(str('target-ci'), 'target-ci', 0, 0.1),
    maxRepetitions:
      str('max-reps') === undefined ? undefined : intOption(str('max-reps'), 'max-reps', 0, 1, 10_000),
    timeBudgetSeconds:
      str('time-budget') === undefined ? undefined : numberOption(str('time-budget'), 'time-budget', 0, 1),
    connections:
      connections === undefined ? undefined : connections.length === 1 ? connections[0]! : connections,
    threads: str('threads') === undefined ? undefined : intOption(str('threads'), 'threads', 0, 1, 1024),
    workers: Array.isArray(workers) && workers.length === 1 ? workers[0]! : workers,
    serverCpus: intListOption(str('server-cpus'), 'server-cpus', 1, 4096),
    accept: choiceListOption(str('accept'), 'accept', ACCEPT_MODES),
    warmupRuns:
      str('warmup-runs') === undefined ? undefined : intOption(str('warmup-runs'), 'warmup-runs', 0, 0, 100),
    nginxPreset:
      str('nginx-preset') === undefined
        ? undefined
        : choiceOption<'stock' | 'tuned'>(str('nginx-preset'), 'nginx-preset', ['stock', 'tuned'], 'tuned'),
    pinning: flags.pin === false ? 'none' : undefined,
    calibrate: typeof flags.calibrate === 'boolean' ? flags.calibrate : undefined,
    serverCpuQuotaCores:
      str('server-quota') === undefined
        ? undefined
        : numberOption(str('server-quota'), 'server-quota', 0, 0.05),
  });
  Object.assign(set, defined<Partial<Profile>>(rateFlags(flags)));
  const hosts = defined<Hosts>({
    load: flags['load-host'] as string[] | undefined,
    server: str('server-host'),
    sshConfig: str('ssh-config'),
    remoteDir: str('remote-dir'),
    serverAddress: str('server-address'),
  });
  return { set, unset, hosts };
}

/**
 * --rates 25%,50%,20k and --slo p99=10ms (repeatable, or comma-separated) as lists of their
 * words: ProfileSchema judges every step and objective, so all their problems come at once.
 */
function rateFlags(flags: BenchFlags): Pick<Partial<Profile>, 'rates' | 'slo'> {
  const words = (value: string) =>
    value
      .split(',')
      .map((word) => word.trim())
      .filter((word) => word !== '');
  const rates = flags.rates;
  const slo = flags.slo;
  return {
    rates: typeof rates === 'string' ? words(rates) : undefined,
    slo: slo === undefined || typeof slo === 'boolean' ? undefined : [slo].flat().flatMap(words),
  };
}

/**
 * The schema's problems in the command line's words: a field a message speaks of becomes its
 * flag (`maxRepetitions (2) is below repetitions (3)` reads `--max-reps (2) is below --reps
 * (3)`); any other problem is named by the flag of its field. One line, every problem.
 */
function describeIssues(issues: Parameters<typeof formatIssues>[0]): string {
  const lines = issues.map((issue) => {
    const field = issue.path.join('.');
    const flag = FLAG_OF[field] ?? (field === '' ? 'profile' : field);
    const fields = issue.code === 'custom' ? (issue.params?.fields as string[] | undefined) : undefined;
    if (fields === undefined) {
      // A rule of our own reads after its subject; zod's own messages stand apart.
      return issue.code === 'custom' ? `${flag} ${issue.message}` : `${flag}: ${issue.message}`;
    }
    return fields.reduce(
      (text, name) => text.replace(new RegExp(`\\b${name}\\b`, 'g'), FLAG_OF[name] ?? name),
      issue.message,
    );
  });
  return [...new Set(lines)].map((line) => line.replace(/[\r\n]+/g, ' ')).join('; ');
}

/** Where the run's processes go, from the merged hosts; the ssh config relative to here. */
function remoteOf(hosts: Hosts): RunHosts {
  return {
    loadHosts: hosts.load ?? [],
    serverHost: hosts.server ?? null,
    sshConfig: hosts.sshConfig === undefined ? undefined : resolve(hosts.sshConfig),
    remoteDir: hosts.remoteDir,
    serverAddress: hosts.serverAddress,
  };
}
