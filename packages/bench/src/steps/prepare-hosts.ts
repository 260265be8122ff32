import {
  type HostEnvironment,
  LOAD_TOOLS,
  type LoadToolName,
  SERVER_DEFAULT_BACKLOG,
  type ToolInfo,
  UsageError,
} from '@scaleup/core';
import { type Host, type PreflightReport, preflightHost, sshHost } from '@scaleup/hosts';
import { type MachineReading, readMachine } from '../environment.ts';
import type { RemoteOptions } from '../ports.ts';
import type { LoadHost } from '../remote-load.ts';
import { localPlace, REPO_DIR, remotePlace, type ServerPlace } from '../servers.ts';
import { checkTuning } from '../tuning.ts';

export interface PreparedHosts {
  place: ServerPlace;
  /** The load hosts, or null when the load tool runs here. */
  load: LoadHost[] | null;
  /** Addresses beyond loopback and 198.18.0.0/15 the load may target: a server host the user named. */
  allowedTargets: string[];
  /** Tools the load hosts all have (autocannon always, with the checkout). */
  loadTools: ToolInfo[] | null;
  environments: HostEnvironment[];
  close(): Promise<void>;
}

type PrepareOptions = RemoteOptions & { connections: number; needNginx: boolean };

const TOOL_BINARIES: Record<LoadToolName, string | null> = {
  autocannon: null,
  h2load: 'h2load',
  wrk: 'wrk',
  weighttp: 'weighttp',
  // Built in the checkout by setup (packages/driver/native), like autocannon's node_modules.
  openloop: null,
};

/** The hosts as connected, with what the later steps learn of them. */
interface Connected {
  options: PrepareOptions;
  checkout: string;
  names: string[];
  hosts: Map<string, Host>;
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
    await Promise.allSettled([...connected.hosts.values()].map((h) => h.close()));
  };
  try {
    const reports = await preflightAll(connected);
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
  return { options, checkout, names, hosts };
}

/** Preflight on every host at once; every problem of every host in one UsageError. */
async function preflightAll(connected: Connected): Promise<Map<string, PreflightReport>> {
  const { options, checkout } = connected;
  const problems: string[] = [];
  const reports = await Promise.all(
    connected.names.map(async (name) => {
      const host = connected.hosts.get(name)!;
      const binaries = [
        ...(options.loadHosts.includes(name) ? LOAD_TOOLS.flatMap((t) => TOOL_BINARIES[t] ?? []) : []),
        ...(name === options.serverHost && options.needNginx ? ['nginx'] : []),
      ];
      const report = await preflightHost(host, { binaries });
      // A load tool missing on a host is the tool choice's business (autocannon always works).
      const hostProblems = report.problems.filter(
        (p) => !/: (wrk|h2load|weighttp) not found on PATH$/.test(p),
      );
      problems.push(...hostProblems);
      if (hostProblems.length === 0) {
        const tsx = await host.readFile(`${checkout}/node_modules/tsx/package.json`);
        if (tsx === null)
          problems.push(`${name}: the checkout at ${checkout} is not set up (run scripts/setup.sh there)`);
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
    if (binary === null) return { name: tool, version: 'from the checkout', path: null, missing: null };
    const missingOn = names.filter((n) => checked.reports.get(n)?.binaries[binary]?.path == null);
    return {
      name: tool,
      version: checked.reports.get(names[0]!)?.binaries[binary]?.version ?? null,
      path: null,
      missing: missingOn.length === 0 ? null : `${binary} is not on PATH on ${missingOn.join(', ')}`,
    };
  });
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
    tools: LOAD_TOOLS.filter((t) => TOOL_BINARIES[t] !== null).map((t) => {
      const b = report.binaries[TOOL_BINARIES[t]!];
      return {
        name: t,
        version: b?.version ?? null,
        path: b?.path ?? null,
        missing: b?.path == null ? 'not on PATH' : null,
      };
    }),
    nginx:
      nginx === undefined
        ? null
        : { version: nginx.version, path: nginx.path, missing: nginx.path === null ? 'not on PATH' : null },
    tuning: checkTuning({
      sysctls: machine.sysctls,
      openFilesSoft: machine.openFilesSoft,
      openFilesHard: machine.openFilesHard,
      connections: options.connections,
      backlog: SERVER_DEFAULT_BACKLOG,
    }),
  };
}
