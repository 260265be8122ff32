import {
  type HostEnvironment,
  LOAD_TOOLS,
  type LoadToolName,
  SERVER_DEFAULT_BACKLOG,
  type ToolInfo,
  UsageError,
} from '@scaleup/core';
import { type Host, type HostFacts, preflightHost, sshHost } from '@scaleup/hosts';
import { parseOpenFilesLimit } from './environment.ts';
import type { LoadHost } from './remote-load.ts';
import { localPlace, REPO_DIR, remotePlace, type ServerPlace } from './servers.ts';
import { checkTuning, RECORDED_SYSCTLS, SEED_SYSCTLS } from './tuning.ts';

/** Where a run's processes go: the hosts named on the command line, a profile or the suite. */
export interface RemoteOptions {
  /** ssh destinations (or Host names of the ssh config) that run the load tool. */
  loadHosts: string[];
  /** The ssh destination that runs the servers under test; null: this machine. */
  serverHost: string | null;
  sshConfig?: string | undefined;
  /** The checkout on the other hosts (default: the same absolute path as this one). */
  remoteDir?: string | undefined;
  /** The address the load reaches the servers at, instead of the one found. */
  serverAddress?: string | undefined;
}

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

const TOOL_BINARIES: Record<LoadToolName, string | null> = {
  autocannon: null,
  h2load: 'h2load',
  wrk: 'wrk',
  weighttp: 'weighttp',
};

async function readSysctlsOn(host: Host): Promise<Record<string, string | null>> {
  const keys = [...SEED_SYSCTLS.map((s) => s.key), ...RECORDED_SYSCTLS];
  const values = await Promise.all(
    keys.map(async (key) => {
      const text = await host.readFile(`/proc/sys/${key.replaceAll('.', '/')}`);
      return [key, text === null ? null : text.trim().replace(/\s+/g, ' ')] as const;
    }),
  );
  return Object.fromEntries(values);
}

/**
 * Connects to every host, checks each before anything starts (ssh, node, the checkout, the
 * tools, the tuning) and reports every problem at once, then finds the addresses: a local
 * server is reached at the address each load host sees the harness connect from; a remote
 * server at its host's own address. Throws a UsageError listing all problems; closes what it
 * opened when it does.
 */
export async function prepareHosts(
  options: RemoteOptions & { connections: number; needNginx: boolean },
): Promise<PreparedHosts> {
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
  const close = async () => {
    await Promise.allSettled([...hosts.values()].map((h) => h.close()));
  };
  try {
    const problems: string[] = [];
    const reports = await Promise.all(
      names.map(async (name) => {
        const host = hosts.get(name)!;
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
    const facts = new Map<string, HostFacts>();
    if (problems.length === 0) {
      for (const name of names) facts.set(name, await hosts.get(name)!.describe());
    }
    if (problems.length > 0) {
      throw new UsageError(
        `${problems.length} host problem${problems.length === 1 ? '' : 's'}, nothing started:\n${[...new Set(problems)].map((p) => `  ${p}`).join('\n')}`,
      );
    }

    const serverFacts = options.serverHost === null ? null : facts.get(options.serverHost)!;
    const serverAddress = options.serverAddress ?? serverFacts?.serverAddress ?? null;
    if (options.serverHost !== null && serverAddress === null) {
      throw new UsageError(
        `${options.serverHost}: cannot find its address (ssh gave no SSH_CONNECTION); give --server-address`,
      );
    }
    const remoteLoad = options.loadHosts.length > 0;
    const place =
      options.serverHost !== null
        ? remotePlace(hosts.get(options.serverHost)!, {
            checkout,
            urlAddress: serverAddress!,
            listenAddress: '0.0.0.0',
          })
        : remoteLoad
          ? // Reached from other hosts: listen everywhere, verify over loopback.
            localPlace('127.0.0.1', '0.0.0.0')
          : localPlace();
    const load = remoteLoad
      ? options.loadHosts.map((name): LoadHost => {
          const seen = facts.get(name)!;
          const target =
            options.serverAddress ??
            (options.serverHost !== null ? serverAddress! : (seen.clientAddress ?? '127.0.0.1'));
          return { host: hosts.get(name)!, checkout, node: 'node', targetAddress: target };
        })
      : null;
    const loadTools = remoteLoad
      ? LOAD_TOOLS.map((tool): ToolInfo => {
          const binary = TOOL_BINARIES[tool];
          const missingOn =
            binary === null
              ? []
              : options.loadHosts.filter(
                  (n) => reports.find(([r]) => r === n)?.[1].binaries[binary]?.path == null,
                );
          const version =
            binary === null
              ? null
              : (reports.find(([r]) => r === options.loadHosts[0])?.[1].binaries[binary]?.version ?? null);
          return {
            name: tool,
            version: binary === null ? 'from the checkout' : version,
            path: null,
            missing: missingOn.length === 0 ? null : `${binary} is not on PATH on ${missingOn.join(', ')}`,
          };
        })
      : null;

    const environments: HostEnvironment[] = [];
    for (const name of names) {
      const f = facts.get(name)!;
      const host = hosts.get(name)!;
      const report = reports.find(([r]) => r === name)![1];
      const roles: HostEnvironment['roles'] = [];
      if (name === options.serverHost) roles.push('server');
      if (options.loadHosts.includes(name)) roles.push('load');
      const limits = parseOpenFilesLimit((await host.readFile('/proc/self/limits')) ?? '');
      const sysctls = await readSysctlsOn(host);
      environments.push({
        name,
        roles,
        address: roles.includes('server') ? serverAddress : f.clientAddress,
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
          report.binaries.nginx === undefined
            ? null
            : {
                version: report.binaries.nginx.version,
                path: report.binaries.nginx.path,
                missing: report.binaries.nginx.path === null ? 'not on PATH' : null,
              },
        tuning: checkTuning({
          sysctls,
          openFilesSoft: limits.soft,
          openFilesHard: limits.hard,
          connections: options.connections,
          backlog: SERVER_DEFAULT_BACKLOG,
        }),
      });
    }
    return {
      place,
      load,
      allowedTargets: options.serverHost !== null && serverAddress !== null ? [serverAddress] : [],
      loadTools,
      environments,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
