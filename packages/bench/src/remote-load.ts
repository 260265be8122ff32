import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type HostLoadResult,
  type InlineLoadReport,
  InlineLoadReportSchema,
  LOAD_READY_LINE,
  type LoadSpec,
  type LoadToolName,
  type RepetitionLoad,
} from '@scaleup/core';
import { writeFileAtomic } from '@scaleup/core/io';
import { finishResult, mergeLoads, prepareLoad, unreadableRun } from '@scaleup/driver';
import type { Host, HostProcess } from '@scaleup/hosts';
import type { LoadToolPort } from './ports.ts';
import { bundleCommand, type RemoteBundle } from './servers.ts';

/** A host that runs the load tool: the bundle shipped there or its checkout, and where it reaches the server. */
export interface LoadHost {
  host: Host;
  checkout: string;
  /** The bundle shipped to the host; the checkout's CLI (through tsx) runs without it. */
  bundle?: RemoteBundle | undefined;
  node: string;
  /** The server's address as this host reaches it (replaces the URL's host). */
  targetAddress: string;
}

/** How long a load host may take to say it is ready (node start, tool detection, over ssh). */
const READY_TIMEOUT_MS = 30_000;
/** After the tool's own time bound: how long a host may take to report before it is given up. */
const REPORT_GRACE_MS = 30_000;

/** `count` split over `parts`, the remainder on the first ones: 10 over 3 is 4, 3, 3. */
export function splitEvenly(count: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(count / parts) + (i < count % parts ? 1 : 0));
}

/**
 * The spec one host runs: its share of the connections (and requests, or of the offered rate and
 * the connection bound in open loop), its own view of the server.
 */
export function hostSpec(
  spec: LoadSpec,
  target: string,
  share: { connections: number; requests: number | undefined; hosts?: number },
): LoadSpec {
  const url = new URL(spec.url);
  url.hostname = target.includes(':') ? `[${target}]` : target;
  const { cpus: _, ...rest } = spec;
  const hosts = share.hosts ?? 1;
  return {
    ...rest,
    url: url.toString(),
    connections: share.connections,
    threads: Math.min(spec.threads, share.connections),
    ...(share.requests === undefined ? {} : { requests: share.requests }),
    // Each host offers its part on its own schedule; the merged histograms see the whole rate.
    ...(spec.ratePerSecond === undefined ? {} : { ratePerSecond: spec.ratePerSecond / hosts }),
    ...(spec.maxConnections === undefined
      ? {}
      : { maxConnections: Math.max(share.connections, Math.ceil(spec.maxConnections / hosts)) }),
  };
}

/**
 * The scaleup CLI arguments that run `spec` with the barrier and print the result and the raw
 * output as one JSON document: nothing is written on the host, so a link that drops after the
 * run cannot leave a file there.
 */
export function remoteLoadArgs(tool: LoadToolName, spec: LoadSpec): string[] {
  const args = ['load', '--barrier', '--json', '--raw-inline', '--tool', tool];
  if (spec.durationSeconds !== undefined) args.push('--duration', String(spec.durationSeconds));
  if (spec.requests !== undefined) args.push('--requests', String(spec.requests));
  if (spec.ratePerSecond !== undefined) args.push('--rate', String(spec.ratePerSecond));
  if (spec.maxConnections !== undefined) args.push('--max-connections', String(spec.maxConnections));
  args.push('--connections', String(spec.connections), '--threads', String(spec.threads));
  if (spec.keepAlive) args.push('--keep-alive');
  args.push('--timeout', String(spec.timeoutSeconds), '--max-failed', '100');
  if (spec.expectedBodyBytes !== undefined) args.push('--expect-bytes', String(spec.expectedBodyBytes));
  for (const [name, value] of Object.entries(spec.headers)) args.push('--header', `${name}: ${value}`);
  for (const target of spec.allowedTargets ?? []) args.push('--allow-target', target);
  args.push(spec.url);
  return args;
}

function failedResult(tool: LoadToolName, version: string, host: string, why: string): HostLoadResult {
  return { ...finishResult(unreadableRun(tool, version, why)), host };
}

interface Running {
  load: LoadHost;
  process: HostProcess;
  spec: LoadSpec;
  stdout: string[];
  stderr: string[];
  ready: Promise<void>;
}

function start(load: LoadHost, tool: LoadToolName, spec: LoadSpec): Running {
  const args = remoteLoadArgs(tool, spec);
  const command =
    load.bundle === undefined
      ? {
          file: load.node,
          args: ['--import', 'tsx', `${load.checkout}/packages/cli/src/bin.ts`, ...args],
          cwd: load.checkout,
        }
      : bundleCommand(load.node, load.bundle, args);
  const proc = load.host.spawn(command.file, command.args, { cwd: command.cwd, stdin: 'pipe' });
  const running: Running = {
    load,
    process: proc,
    spec,
    stdout: [],
    stderr: [],
    ready: Promise.resolve(),
  };
  proc.stdout.on('line', (line) => running.stdout.push(line));
  running.ready = new Promise<void>((resolve, reject) => {
    proc.stderr.on('line', (line) => {
      if (line === LOAD_READY_LINE) resolve();
      else running.stderr.push(line);
    });
    void proc.exited.then((exit) =>
      reject(
        new Error(
          exit.lostConnection
            ? 'lost the connection before it was ready'
            : `stopped before it was ready (${running.stderr.slice(-2).join(' | ') || exit.error || `exit code ${exit.exitCode}`})`,
        ),
      ),
    );
  });
  return running;
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The load tool on other hosts, started together: each host gets ready (tool found, spec
 * accepted), then all are told to go at once. Their results are merged honestly (see
 * mergeLoads) and each host's own is kept. A host that drops its connection, dies or does not
 * answer in time makes the repetition's load incomplete, with its name and why; nothing of the
 * run is left on any host.
 */
export function remoteLoadPort(options: {
  hosts: readonly LoadHost[];
  tool: LoadToolName;
  version: string;
}): LoadToolPort {
  const { tool, version } = options;
  return {
    name: tool,
    version,
    validate(spec) {
      prepareLoad(spec, tool);
    },
    async run(spec, { rawOutputPath, signal }): Promise<RepetitionLoad> {
      const connections = splitEvenly(spec.connections, options.hosts.length);
      const requests =
        spec.requests === undefined ? undefined : splitEvenly(spec.requests, options.hosts.length);
      const running = options.hosts.map((load, i) =>
        start(
          load,
          tool,
          hostSpec(spec, load.targetAddress, {
            connections: connections[i]!,
            requests: requests?.[i],
            hosts: options.hosts.length,
          }),
        ),
      );
      const stopAll = () => Promise.allSettled(running.map((r) => r.process.stop(3000)));
      const onAbort = () => void stopAll();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const ready = await Promise.allSettled(
          running.map((r) => withDeadline(r.ready, READY_TIMEOUT_MS, `${r.load.host.name} was not ready`)),
        );
        if (ready.some((outcome) => outcome.status === 'rejected')) {
          await stopAll();
          return mergeLoads(
            ready.map((outcome, i) =>
              failedResult(
                tool,
                version,
                running[i]!.load.host.name,
                outcome.status === 'rejected'
                  ? (outcome.reason as Error).message
                  : 'not started: another load host was not ready',
              ),
            ),
          );
        }
        // The barrier: every host is ready, now all go.
        for (const r of running) r.process.write('go\n');
        const bound = spec.timeoutSeconds * 1000 + REPORT_GRACE_MS;
        const results = await Promise.all(
          running.map(async (r): Promise<HostLoadResult> => {
            const name = r.load.host.name;
            const exit = await withDeadline(r.process.exited, bound, `${name} did not report`).catch(
              (error: Error) => {
                void r.process.stop(1000);
                return { error: error.message, lostConnection: false, exitCode: null, signal: null };
              },
            );
            // Merged results put the host's name before each of its errors.
            if (exit.lostConnection)
              return failedResult(
                tool,
                version,
                name,
                "connection lost mid-run: the load tool's result never arrived",
              );
            if (exit.error !== null && exit.error !== undefined)
              return failedResult(tool, version, name, exit.error);
            const report = parseReport(r.stdout.join('\n'));
            if (report === null) {
              return failedResult(
                tool,
                version,
                name,
                `no result from ${name} (${signal.aborted ? 'stopped' : `exit code ${exit.exitCode}`}): ${r.stderr.slice(-2).join(' | ')}`,
              );
            }
            const local = rawOutputPath.replace(
              /(\.txt)?$/,
              `.${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.txt`,
            );
            await mkdir(dirname(local), { recursive: true });
            await writeFileAtomic(local, report.rawOutput);
            return { ...report.result, rawOutputPath: local, host: name };
          }),
        );
        return mergeLoads(results);
      } finally {
        signal.removeEventListener('abort', onAbort);
        await stopAll();
      }
    },
  };
}

function parseReport(text: string): InlineLoadReport | null {
  try {
    const parsed = InlineLoadReportSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
