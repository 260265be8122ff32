import { distributionFamily, installAdvice } from './install-lines.ts';
import { shellQuote } from './quote.ts';
import type { Host } from './types.ts';

/** How each known tool prints its version; anything else gets --version. */
const VERSION_FLAGS: Record<string, string> = {
  wrk: '-v',
  nginx: '-v',
  weighttp: '-v',
  h2load: '--version',
  ab: '-V',
  node: '-v',
  taskset: '--version',
};

export interface PreflightNeeds {
  /** Binaries that must be on the host's PATH; their versions are reported. */
  binaries?: string[];
  /** The oldest Node major the group leader may run on (default 20). */
  minNodeMajor?: number;
  /** The deadline for the whole check, connection included (default 20 000). */
  timeoutMs?: number;
  /** Whether the group leader must already be there (a checkout); false when a bundle brings it. */
  leader?: boolean;
}

export interface PreflightReport {
  host: string;
  /** Every problem found, each a sentence naming the host; empty when the host is ready. */
  problems: string[];
  nodeVersion: string | null;
  binaries: Record<string, { path: string | null; version: string | null }>;
  /** The host's distribution family from its /etc/os-release (debian, fedora, alpine...), if known. */
  distribution: string | null;
  /** The line that installs what is missing there (node and binaries), or null when nothing is. */
  installLine: string | null;
  /** Whether the probe ran as root there (the install line has no sudo then). */
  root: boolean;
}

const BINARY_NAME = /^[A-Za-z0-9_.+-]+$/;

function probeScript(host: Host, binaries: string[]): string {
  const [node, leader] = host.leaderCommand;
  const lines = [
    'report() { printf "%s\\t%s\\n" "$1" "$2"; }',
    'T=; command -v timeout >/dev/null 2>&1 && T="timeout 5"',
    `if command -v ${shellQuote(node)} >/dev/null 2>&1; then report node "$($T ${shellQuote(node)} -v 2>&1 </dev/null | head -n 1)"; else report node-missing -; fi`,
    `if [ -f ${shellQuote(leader)} ]; then report leader yes; else report leader no; fi`,
    'report uid "$(id -u 2>/dev/null)"',
    `report os "$(grep -E '^(ID|ID_LIKE)=' /etc/os-release 2>/dev/null | tr '\\n' ';')"`,
  ];
  for (const [i, name] of binaries.entries()) {
    const quoted = shellQuote(name);
    const flag = VERSION_FLAGS[name] ?? '--version';
    // The first non-empty line of whatever the tool prints (wrk and nginx print to stderr, and
    // wrk exits 1 after its version).
    lines.push(
      `if p=$(command -v ${quoted} 2>/dev/null); then report path${i} "$p"; report version${i} "$($T ${quoted} ${flag} 2>&1 </dev/null | sed -n '/[^[:space:]]/{p;q;}')"; else report missing${i} -; fi`,
    );
  }
  return lines.join('\n');
}

/**
 * Everything that stands between a host and a run, all at once: ssh within a deadline, node,
 * the checkout the group leader runs from, and the named binaries with their versions. A host
 * problem is a string in `problems`, never an exception.
 */
export async function preflightHost(host: Host, needs: PreflightNeeds = {}): Promise<PreflightReport> {
  const timeoutMs = needs.timeoutMs ?? 20_000;
  const minNode = needs.minNodeMajor ?? 20;
  const wanted = needs.binaries ?? [];
  const report: PreflightReport = {
    host: host.name,
    problems: [],
    nodeVersion: null,
    binaries: {},
    distribution: null,
    installLine: null,
    root: false,
  };
  const problem = (text: string) => report.problems.push(`${host.name}: ${text}`);
  const valid = wanted.filter((name) => {
    if (BINARY_NAME.test(name)) return true;
    problem(`${JSON.stringify(name)} is not a binary name`);
    return false;
  });
  let result: Awaited<ReturnType<Host['shell']>>;
  try {
    result = await host.shell(probeScript(host, valid), { timeoutMs });
  } catch (error) {
    problem(`cannot run a probe: ${error instanceof Error ? error.message : String(error)}`);
    return report;
  }
  const facts = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) facts.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  if (result.timedOut || !facts.has('leader')) {
    const why = result.timedOut
      ? `no answer within ${timeoutMs} ms`
      : (result.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${result.exitCode}`);
    problem(
      host.kind === 'ssh'
        ? `ssh does not work (${why}); try: ssh ${shellQuote(host.name)} true`
        : `cannot run /bin/sh (${why})`,
    );
    return report;
  }
  const [node, leader] = host.leaderCommand;
  report.root = facts.get('uid') === '0';
  report.distribution = distributionFamily((facts.get('os') ?? '').split(';').join('\n'));
  const missing: string[] = [];
  const nodeVersion = facts.get('node');
  if (nodeVersion === undefined || !/^v\d+/.test(nodeVersion)) {
    missing.push('node');
    problem(`${node} not found on PATH (non-interactive shell); install Node >= ${minNode} there`);
  } else {
    report.nodeVersion = nodeVersion;
    const major = Number(/^v(\d+)/.exec(nodeVersion)?.[1]);
    if (major < minNode) problem(`${node} is ${nodeVersion}; the group leader needs Node >= ${minNode}`);
  }
  if (needs.leader !== false && facts.get('leader') !== 'yes') {
    const checkout = leader.replace(/\/packages\/hosts\/src\/group-leader\.mjs$/, '');
    problem(
      `no scaleup checkout at ${checkout} (${leader} is missing); check it out there or pass remoteDir`,
    );
  }
  for (const [i, name] of valid.entries()) {
    const path = facts.get(`path${i}`) ?? null;
    const version = facts.get(`version${i}`) || null;
    report.binaries[name] = { path, version: path === null ? null : version };
    if (path === null) {
      missing.push(name);
      problem(`${name} not found on PATH`);
    }
  }
  const advice = installAdvice(report.distribution, missing, report.root);
  report.installLine = advice.line;
  return report;
}
