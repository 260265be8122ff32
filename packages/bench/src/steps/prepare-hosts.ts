import {
  type HostEnvironment,
  LOAD_TOOLS,
  type LoadToolName,
  SERVER_DEFAULT_BACKLOG,
  type ToolInfo,
  UsageError,
} from '@scaleup/core';
import {
  type Bundle,
  buildBundle,
  type Host,
  type InstalledBundle,
  installAdvice,
  installBundle,
  type NativeMode,
  type NativeOnHost,
  nativeModeFromEnv,
  nativeOnHost,
  openRunDir,
  type PreflightReport,
  preflightHost,
  type RunDir,
  shellQuote,
  sshHost,
} from '@scaleup/hosts';
import { type MachineReading, readMachine } from '../environment.ts';
import { ADDON_JOB, OPENLOOP_JOB } from '../native-jobs.ts';
import type { RemoteOptions } from '../ports.ts';
import type { LoadHost } from '../remote-load.ts';
import { localPlace, REPO_DIR, type RemoteBundle, remotePlace, type ServerPlace } from '../servers.ts';
import { checkTuning } from '../tuning.ts';

export interface PreparedHosts {
  place: ServerPlace;
  /** The load hosts, or null when the load tool runs here. */
  load: LoadHost[] | null;
  /** Addresses beyond loopback and 198.18.0.0/15 the load may target: a server host the user named. */
  allowedTargets: string[];
  /** Tools the load hosts all have (autocannon always: the checkout's or the bundle's). */
  loadTools: ToolInfo[] | null;
  environments: HostEnvironment[];
  close(): Promise<void>;
}

type PrepareOptions = RemoteOptions & {
  connections: number;
  needNginx: boolean;
  /** --tool: its binary missing on a load host is a preflight problem, not a choice. */
  tool?: LoadToolName | undefined;
};

const TOOL_BINARIES: Record<LoadToolName, string | null> = {
  // JavaScript: in the checkout's node_modules, or bundled with its worker script.
  autocannon: null,
  h2load: 'h2load',
  wrk: 'wrk',
  weighttp: 'weighttp',
  // Native but ours: shipped with the bundle or built on the host (see shipBundles).
  openloop: null,
};

/** The hosts as connected, with what the later steps learn of them. */
interface Connected {
  options: PrepareOptions;
  checkout: string;
  /** No --remote-dir: the hosts get a bundle over ssh instead of needing a checkout. */
  bundled: boolean;
  names: string[];
  hosts: Map<string, Host>;
  /** The bundle built here for the hosts, once built. */
  bundle?: Bundle;
  /** Per host, once shipped: the bundle there, the run's working directory, openloop and the addon there. */
  shipped: Map<string, { installed: InstalledBundle; runDir: RunDir; native: Map<string, NativeOnHost> }>;
  /** Per host with a checkout (--remote-dir): its commit, when git there can tell. */
  commits: Map<string, string>;
}

interface Checked extends Connected {
  reports: Map<string, PreflightReport>;
  machines: Map<string, MachineReading>;
  /** The server host's address as the load reaches it; null with the servers here. */
  serverAddress: string | null;
}

/**
 * Connects to every host, checks each before anything starts (ssh, node, the checkout, the
 * tools, the tuning) and reports every problem at once, then finds the addresses: a local
 * server is reached at the address each load host sees the harness connect from; a remote
 * server at its host's own address. Throws a UsageError listing all problems; closes what it
 * opened when it does.
 */
export async function prepareHosts(options: PrepareOptions): Promise<PreparedHosts> {
  const connected = connectHosts(options);
  const close = async () => {
    // The run directories first: their keepers remove them while the connections are still up.
    await Promise.allSettled([...connected.shipped.values()].map((s) => s.runDir.close()));
    await Promise.allSettled([...connected.hosts.values()].map((h) => h.close()));
  };
  try {
    const reports = await preflightAll(connected);
    if (connected.bundled) await shipBundles(connected, reports);
    const machines = new Map<string, MachineReading>();
    for (const name of connected.names) machines.set(name, await readMachine(connected.hosts.get(name)!));
    const checked: Checked = {
      ...connected,
      reports,
      machines,
      serverAddress: serverAddressOf(connected, machines),
    };
    const remoteLoad = options.loadHosts.length > 0;
    return {
      place: serverPlace(checked),
      load: remoteLoad ? loadHosts(checked) : null,
      allowedTargets:
        options.serverHost !== null && checked.serverAddress !== null ? [checked.serverAddress] : [],
      loadTools: remoteLoad ? toolsOnLoadHosts(checked) : null,
      environments: connected.names.map((name) => hostEnvironment(checked, name)),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One ssh Host per distinct name (a host may both load and serve). */
function connectHosts(options: PrepareOptions): Connected {
  const checkout = options.remoteDir ?? REPO_DIR;
  const names = [
    ...new Set([...options.loadHosts, ...(options.serverHost === null ? [] : [options.serverHost])]),
  ];
  const hosts = new Map<string, Host>(
    names.map((name) => [
      name,
      sshHost(name, {
        remoteDir: checkout,
        ...(options.sshConfig === undefined ? {} : { sshConfig: options.sshConfig }),
      }),
    ]),
  );
  return {
    options,
    checkout,
    bundled: options.remoteDir === undefined,
    names,
    hosts,
    shipped: new Map(),
    commits: new Map(),
  };
}

function nativeMode(): NativeMode {
  try {
    return nativeModeFromEnv();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Builds the bundle here once and makes sure every host has it (copied only where its cache
 * lacks it, verified there by sha256), then openloop on each load host and the addon on the
 * server host (shipped, or built there), then opens each host's run directory. openloop missing
 * is a problem only when --tool asks for it; an addon missing makes the server write().
 */
async function shipBundles(connected: Connected, reports: Map<string, PreflightReport>): Promise<void> {
  const mode = nativeMode();
  let bundle: Bundle;
  try {
    bundle = await buildBundle();
  } catch (error) {
    throw new Error(`cannot build the bundle for the other hosts: ${(error as Error).message}`);
  }
  connected.bundle = bundle;
  const { options } = connected;
  const problems: string[] = [];
  await Promise.all(
    connected.names.map(async (name) => {
      const host = connected.hosts.get(name)!;
      const report = reports.get(name)!;
      try {
        const installed = await installBundle(host, bundle, 60_000, mode);
        const jobs = [
          ...(options.loadHosts.includes(name) ? [OPENLOOP_JOB] : []),
          ...(name === options.serverHost ? [ADDON_JOB] : []),
        ];
        const built = await nativeOnHost(host, bundle, installed, jobs, report);
        const native = new Map(built.map((n) => [n.name, n]));
        const openloop = native.get(OPENLOOP_JOB.name);
        if (options.tool === 'openloop' && openloop?.problem) {
          problems.push(openloop.problem);
          if (openloop.installLine !== null)
            problems.push(`${name}: install what is missing there with: ${openloop.installLine}`);
        }
        connected.shipped.set(name, { installed, runDir: await openRunDir(host), native });
      } catch (error) {
        problems.push((error as Error).message);
      }
    }),
  );
  if (problems.length > 0)
    throw new UsageError(
      `${problems.length} host problem${problems.length === 1 ? '' : 's'}, nothing started:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
}

/** The commit of the checkout a host runs from, for hosts[]; nothing when git cannot say. */
async function recordCommit(connected: Connected, name: string): Promise<void> {
  const host = connected.hosts.get(name)!;
  const git = await host
    .shell(`git -C ${shellQuote(connected.checkout)} rev-parse HEAD 2>/dev/null`, { timeoutMs: 10_000 })
    .catch(() => null);
  const commit = git?.stdout.trim() ?? '';
  if (/^[0-9a-f]{40}$/.test(commit)) connected.commits.set(name, commit);
}

/** The bundle on a host as servers and load run it, or undefined with a checkout there. */
function remoteBundle(connected: Connected, name: string): RemoteBundle | undefined {
  const shipped = connected.shipped.get(name);
  if (shipped === undefined) return undefined;
  return {
    dir: shipped.installed.dir,
    runDir: shipped.runDir.dir,
    addon: shipped.installed.shipment.withAddon,
    addonPath: shipped.native.get(ADDON_JOB.name)?.path ?? null,
    openloop: shipped.native.get(OPENLOOP_JOB.name)?.path ?? null,
  };
}

/** Preflight on every host at once; every problem of every host in one UsageError. */
async function preflightAll(connected: Connected): Promise<Map<string, PreflightReport>> {
  const { options, checkout, bundled } = connected;
  const problems: string[] = [];
  const reports = await Promise.all(
    connected.names.map(async (name) => {
      const host = connected.hosts.get(name)!;
      const binaries = [
        ...(options.loadHosts.includes(name) ? LOAD_TOOLS.flatMap((t) => TOOL_BINARIES[t] ?? []) : []),
        ...(name === options.serverHost && options.needNginx ? ['nginx'] : []),
      ];
      const report = await preflightHost(host, { binaries, leader: !bundled });
      // A load tool missing on a host is the tool choice's business (autocannon always works).
      const forced = options.tool === undefined ? null : TOOL_BINARIES[options.tool];
      const hostProblems = report.problems.filter((p) => {
        const tool = /: (wrk|h2load|weighttp) not found on PATH$/.exec(p)?.[1];
        return tool === undefined || tool === forced;
      });
      problems.push(...hostProblems);
      const install = installLineFor(report, hostProblems);
      if (install !== null) problems.push(`${name}: install what is missing there with: ${install}`);
      if (hostProblems.length === 0 && !bundled) {
        const tsx = await host.readFile(`${checkout}/node_modules/tsx/package.json`);
        if (tsx === null)
          problems.push(`${name}: the checkout at ${checkout} is not set up (run scripts/setup.sh there)`);
        else await recordCommit(connected, name);
      }
      return [name, report] as const;
    }),
  );
  if (problems.length > 0) {
    throw new UsageError(
      `${problems.length} host problem${problems.length === 1 ? '' : 's'}, nothing started:\n${[...new Set(problems)].map((p) => `  ${p}`).join('\n')}`,
    );
  }
  return new Map(reports);
}

/** The install line for what these problems say is missing (node, the tools), on that host's distribution. */
function installLineFor(report: PreflightReport, problems: string[]): string | null {
  const missing = problems.flatMap((p) => {
    const binary = /: (\S+) not found on PATH/.exec(p)?.[1];
    return binary === undefined ? [] : [binary];
  });
  if (missing.length === 0) return null;
  return installAdvice(report.distribution, missing, report.root).line;
}

function serverAddressOf(connected: Connected, machines: Map<string, MachineReading>): string | null {
  const { options } = connected;
  const serverFacts = options.serverHost === null ? null : machines.get(options.serverHost)!.facts;
  const address = options.serverAddress ?? serverFacts?.serverAddress ?? null;
  if (options.serverHost !== null && address === null) {
    throw new UsageError(
      `${options.serverHost}: cannot find its address (ssh gave no SSH_CONNECTION); give --server-address`,
    );
  }
  return address;
}

/** Where the servers run and listen, and the address the load reaches them at. */
function serverPlace(checked: Checked): ServerPlace {
  const { options } = checked;
  if (options.serverHost !== null) {
    return remotePlace(checked.hosts.get(options.serverHost)!, {
      checkout: checked.checkout,
      bundle: remoteBundle(checked, options.serverHost),
      urlAddress: checked.serverAddress!,
      listenAddress: '0.0.0.0',
    });
  }
  // Reached from other hosts: listen everywhere, verify over loopback.
  return options.loadHosts.length > 0 ? localPlace('127.0.0.1', '0.0.0.0') : localPlace();
}

/** Each load host with the server's address as it sees it. */
function loadHosts(checked: Checked): LoadHost[] {
  const { options } = checked;
  return options.loadHosts.map((name): LoadHost => {
    const seen = checked.machines.get(name)!.facts;
    const target =
      options.serverAddress ??
      (options.serverHost !== null ? checked.serverAddress! : (seen.clientAddress ?? '127.0.0.1'));
    return {
      host: checked.hosts.get(name)!,
      checkout: checked.checkout,
      bundle: remoteBundle(checked, name),
      node: 'node',
      targetAddress: target,
    };
  });
}

/** A tool is available only when every load host has it; its version is the first host's. */
function toolsOnLoadHosts(checked: Checked): ToolInfo[] {
  const { loadHosts: names } = checked.options;
  return LOAD_TOOLS.map((tool): ToolInfo => {
    const binary = TOOL_BINARIES[tool];
    if (tool === 'openloop' && checked.bundled) return openloopOnLoadHosts(checked);
    if (tool === 'autocannon' && checked.bundle !== undefined)
      return { name: tool, version: checked.bundle.autocannonVersion, path: null, missing: null };
    if (binary === null) return { name: tool, version: 'from the checkout', path: null, missing: null };
    const missingOn = names.filter((n) => checked.reports.get(n)?.binaries[binary]?.path == null);
    const lines = missingOn.flatMap((n) => {
      const report = checked.reports.get(n);
      const line =
        report === undefined ? null : installAdvice(report.distribution, [binary], report.root).line;
      return line === null ? [] : [`${n}: ${line}`];
    });
    return {
      name: tool,
      version: checked.reports.get(names[0]!)?.binaries[binary]?.version ?? null,
      path: null,
      missing:
        missingOn.length === 0
          ? null
          : `${binary} is not on PATH on ${missingOn.join(', ')}${lines.length > 0 ? ` (install: ${lines.join('; ')})` : ''}`,
    };
  });
}

/** openloop with the bundle: there when every load host has it (shipped or built there). */
function openloopOnLoadHosts(checked: Checked): ToolInfo {
  const found = checked.options.loadHosts.map((n) => checked.shipped.get(n)?.native.get(OPENLOOP_JOB.name));
  const missing = found.flatMap((n) =>
    n?.path == null
      ? [`${n?.problem ?? 'not checked'}${n?.installLine ? ` (install: ${n.installLine})` : ''}`]
      : [],
  );
  return {
    name: 'openloop',
    version: found[0]?.version?.replace(/^openloop /, '') ?? null,
    path: null,
    missing: missing.length === 0 ? null : missing.join('; '),
  };
}

/** openloop on one load host with the bundle, as hosts[].tools records it (shipped or built there). */
function openloopOnHost(checked: Checked, name: string): HostEnvironment['tools'] {
  const found = checked.shipped.get(name)?.native.get(OPENLOOP_JOB.name);
  if (found === undefined) return [];
  return [
    {
      name: 'openloop',
      version: found.version?.replace(/^openloop /, '') ?? null,
      path: found.path,
      missing: found.path === null ? found.reason : null,
    },
  ];
}

/** One host as results.json records it: its roles, the machine, its tools and its tuning. */
function hostEnvironment(checked: Checked, name: string): HostEnvironment {
  const { options } = checked;
  const machine = checked.machines.get(name)!;
  const f = machine.facts;
  const report = checked.reports.get(name)!;
  const roles: HostEnvironment['roles'] = [];
  if (name === options.serverHost) roles.push('server');
  if (options.loadHosts.includes(name)) roles.push('load');
  const nginx = report.binaries.nginx;
  return {
    name,
    roles,
    address: roles.includes('server') ? checked.serverAddress : f.clientAddress,
    hostname: f.hostname,
    cpuModel: f.cpuModel ?? 'unknown',
    logicalCores: f.logicalCores ?? 0,
    memoryBytes: f.memoryBytes,
    kernel: f.kernel,
    nodeVersion: f.nodeVersion,
    clockOffsetMs: f.clockOffsetMs,
    tools: [
      ...LOAD_TOOLS.filter((t) => TOOL_BINARIES[t] !== null).map((t) => {
        const b = report.binaries[TOOL_BINARIES[t]!];
        return {
          name: t,
          version: b?.version ?? null,
          path: b?.path ?? null,
          missing: b?.path == null ? 'not on PATH' : null,
        };
      }),
      ...openloopOnHost(checked, name),
    ],
    nginx:
      nginx === undefined
        ? null
        : { version: nginx.version, path: nginx.path, missing: nginx.path === null ? 'not on PATH' : null },
    code: hostCode(checked, name),
    tuning: checkTuning({
      sysctls: machine.sysctls,
      openFilesSoft: machine.openFilesSoft,
      openFilesHard: machine.openFilesHard,
      connections: options.connections,
      backlog: SERVER_DEFAULT_BACKLOG,
    }),
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** What of scaleup ran on the host, for hosts[] in results.json. */
function hostCode(checked: Checked, name: string): HostEnvironment['code'] {
  const shipped = checked.shipped.get(name);
  if (shipped === undefined)
    return {
      kind: 'checkout',
      version: checked.commits.get(name) ?? null,
      zeroCopyAddon: null,
      copiedBytes: null,
      note: `checkout at ${checked.checkout}`,
    };
  const { installed } = shipped;
  const addon = shipped.native.get(ADDON_JOB.name);
  const notes = [...shipped.native.values()].flatMap((n) =>
    n.origin === 'built'
      ? [
          `${n.name} built on the host (${installed.platform}${n.buildSeconds > 0 ? `, ${n.buildSeconds} s` : ''})`,
        ]
      : [],
  );
  if (addon !== undefined && addon.path === null)
    notes.push(`${addon.reason} on ${installed.platform}: the server writes every response`);
  const { pruned } = installed.cache;
  if (pruned.entries > 0)
    notes.push(
      `its bundle cache pruned of ${pruned.entries} old ${pruned.entries === 1 ? 'entry' : 'entries'} (${mib(pruned.bytes)})`,
    );
  return {
    kind: 'bundle',
    version: installed.shipment.hash,
    zeroCopyAddon: addon === undefined ? installed.shipment.withAddon : addon.path !== null,
    copiedBytes: installed.copiedBytes,
    note: notes.length === 0 ? null : notes.join('; '),
  };
}
