import { SERVER_DEFAULT_BACKLOG, type TuningCheck } from '@scaleup/core';
import {
  type Bundle,
  type BundleProbe,
  buildBundle,
  installAdvice,
  type NativeMode,
  nativeModeFromEnv,
  type PreflightReport,
  preflightHost,
  probeBundle,
  sshHost,
} from '@scaleup/hosts';
import { readMachine } from './environment.ts';
import { checkTuning } from './tuning.ts';

/** The binaries a host may be asked for: the load tools, nginx, and a C compiler (see `native`). */
const CHECKED_BINARIES = ['wrk', 'h2load', 'weighttp', 'nginx', 'cc'];

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
    /**
     * openloop and the server's addon there: `shipped` (built here, same platform), `build`
     * (compiled there by its cc on the first run), `none` (no cc: no openloop, the server
     * would write()).
     */
    native: 'shipped' | 'build' | 'none';
    /**
     * The host's bundle cache: bundles in it, every byte under it, and what the next run's
     * install there would prune (older than 14 days and beyond the 3 most recently used).
     */
    cache: { bundles: number; bytes: number; prunable: { entries: number; bytes: number } };
  } | null;
}

export interface HostCheckOptions {
  sshConfig?: string | undefined;
  /** A checkout there (the leader and the CLI run from it): nothing would be copied. */
  remoteDir?: string | undefined;
  /** Sizes the tuning checks (default 128, the default profile's). */
  connections?: number;
}

function copyOf(probe: BundleProbe, hasCompiler: boolean): NonNullable<HostCheck['copy']> {
  return {
    native: probe.shipment.withOpenloop ? 'shipped' : hasCompiler ? 'build' : 'none',
    hash: probe.shipment.hash,
    bytes: probe.shipment.files.reduce((sum, f) => sum + f.bytes, 0),
    files: probe.shipment.files.length,
    cached: probe.cached,
    zeroCopyAddon: probe.shipment.withAddon,
    platform: probe.platform,
    cache: { bundles: probe.cache.bundles, bytes: probe.cache.bytes, prunable: probe.cache.pruned },
  };
}

function fromPreflight(report: PreflightReport): HostCheck {
  // A compiler is needed only where the native builds are not shipped: decided after the probe.
  const missing = Object.entries(report.binaries).flatMap(([name, b]) =>
    b.path === null && name !== 'cc' ? [name] : [],
  );
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
  mode: NativeMode,
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
        const copy = copyOf(await probeBundle(host, built, 20_000, mode), report.binaries.cc?.path != null);
        check.copy = copy;
        if (copy.native === 'none') {
          const missing = Object.entries(report.binaries).flatMap(([n, b]) => (b.path === null ? [n] : []));
          const node = report.nodeVersion === null ? ['node'] : [];
          check.installLine = installAdvice(
            report.distribution,
            [...node, ...missing, 'zlib.h'],
            report.root,
          ).line;
        }
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
  const mode = nativeModeFromEnv();
  const bundle = options.remoteDir === undefined ? buildBundle() : Promise.resolve(null);
  // A failed build is every host's problem, reported once below, not an unhandled rejection.
  const safe = bundle.catch(() => null);
  const checks = await Promise.all(names.map((name) => checkOne(name, options, safe, mode)));
  const failed = await bundle.then(
    () => null,
    (error: Error) => error.message,
  );
  if (failed !== null)
    for (const c of checks) c.problems.push(`${c.host}: cannot build the bundle here: ${failed}`);
  return checks;
}
