import { SERVER_DEFAULT_BACKLOG, type TuningCheck } from '@scaleup/core';
import {
  type Bundle,
  type BundleProbe,
  buildBundle,
  installAdvice,
  type PreflightReport,
  preflightHost,
  probeBundle,
  sshHost,
} from '@scaleup/hosts';
import { readMachine } from './environment.ts';
import { checkTuning } from './tuning.ts';

/** The binaries a host may be asked for: the load tools and nginx. */
const CHECKED_BINARIES = ['wrk', 'h2load', 'weighttp', 'nginx'];

export interface HostCheck {
  host: string;
  reachable: boolean;
  /** Problems that stop a run there (ssh, node), each naming the host. */
  problems: string[];
  nodeVersion: string | null;
  distribution: string | null;
  tools: Record<string, { path: string | null; version: string | null }>;
  /** The line that installs every missing binary there, or null when nothing packaged is missing. */
  installLine: string | null;
  /** Only the settings below the seed's tuning or the connections asked for. */
  tuningShortfalls: TuningCheck[];
  clockOffsetMs: number | null;
  clockUncertaintyMs: number | null;
  /** What a run would send there; null with --remote-dir (a checkout there) or when unreachable. */
  copy: {
    hash: string;
    bytes: number;
    files: number;
    cached: boolean;
    zeroCopyAddon: boolean;
    platform: string;
  } | null;
}

export interface HostCheckOptions {
  sshConfig?: string | undefined;
  /** A checkout there (the leader and the CLI run from it): nothing would be copied. */
  remoteDir?: string | undefined;
  /** Sizes the tuning checks (default 128, the default profile's). */
  connections?: number;
}

function copyOf(probe: BundleProbe): HostCheck['copy'] {
  return {
    hash: probe.shipment.hash,
    bytes: probe.shipment.files.reduce((sum, f) => sum + f.bytes, 0),
    files: probe.shipment.files.length,
    cached: probe.cached,
    zeroCopyAddon: probe.shipment.withAddon,
    platform: probe.platform,
  };
}

function fromPreflight(report: PreflightReport): HostCheck {
  const missing = Object.entries(report.binaries).flatMap(([name, b]) => (b.path === null ? [name] : []));
  const nodeMissing = report.nodeVersion === null ? ['node'] : [];
  return {
    host: report.host,
    reachable: !report.problems.some((p) => p.includes('ssh does not work')),
    // A tool missing is reported with the tools, not as a problem: which one a run needs depends on it.
    problems: report.problems.filter((p) => !/ not found on PATH$/.test(p)),
    nodeVersion: report.nodeVersion,
    distribution: report.distribution,
    tools: report.binaries,
    installLine: installAdvice(report.distribution, [...nodeMissing, ...missing], report.root).line,
    tuningShortfalls: [],
    clockOffsetMs: null,
    clockUncertaintyMs: null,
    copy: null,
  };
}

/** One host: preflight, then (when it answers) its machine, clock and what it would be sent. */
async function checkOne(
  name: string,
  options: HostCheckOptions,
  bundle: Promise<Bundle | null>,
): Promise<HostCheck> {
  const host = sshHost(name, {
    ...(options.sshConfig === undefined ? {} : { sshConfig: options.sshConfig }),
    ...(options.remoteDir === undefined ? {} : { remoteDir: options.remoteDir }),
  });
  try {
    const report = await preflightHost(host, {
      binaries: CHECKED_BINARIES,
      leader: options.remoteDir !== undefined,
    });
    const check = fromPreflight(report);
    if (!check.reachable) return check;
    const machine = await readMachine(host);
    check.clockOffsetMs = machine.facts.clockOffsetMs;
    check.clockUncertaintyMs = machine.facts.clockUncertaintyMs;
    check.tuningShortfalls = checkTuning({
      sysctls: machine.sysctls,
      openFilesSoft: machine.openFilesSoft,
      openFilesHard: machine.openFilesHard,
      connections: options.connections ?? 128,
      backlog: SERVER_DEFAULT_BACKLOG,
    }).filter((c) => !c.ok);
    const built = await bundle;
    if (built !== null && report.nodeVersion !== null) {
      try {
        check.copy = copyOf(await probeBundle(host, built));
      } catch (error) {
        check.problems.push((error as Error).message);
      }
    }
    return check;
  } finally {
    await host.close();
  }
}

/**
 * `scaleup hosts check`: everything a run would check on each host, all hosts at once, and what
 * it would copy there. Changes nothing on any host.
 */
export async function checkHosts(
  names: readonly string[],
  options: HostCheckOptions = {},
): Promise<HostCheck[]> {
  const bundle = options.remoteDir === undefined ? buildBundle() : Promise.resolve(null);
  // A failed build is every host's problem, reported once below, not an unhandled rejection.
  const safe = bundle.catch(() => null);
  const checks = await Promise.all(names.map((name) => checkOne(name, options, safe)));
  const failed = await bundle.then(
    () => null,
    (error: Error) => error.message,
  );
  if (failed !== null)
    for (const c of checks) c.problems.push(`${c.host}: cannot build the bundle here: ${failed}`);
  return checks;
}
