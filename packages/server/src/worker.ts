import cluster from 'node:cluster';
import type { AcceptMode, ResourceKind, ServerEngine } from '@scaleup/core';
import { startClock } from './clock.ts';
import type { WorkerEngine } from './engines/engine.ts';
import { NodeHttpEngine } from './engines/http.ts';
import { netEngine } from './engines/net.ts';
import { FileResource } from './file-resource.ts';
import type { HttpTimeouts } from './http-server.ts';
import { createMemoryResource, type Resource } from './resource.ts';
import { loadReusePort } from './reuse-port.ts';
import { type MasterMessage, sampleProcess, type WorkerMessage } from './stats.ts';
import { loadZeroCopy, ZeroCopySender } from './zero-copy.ts';

/** Everything a worker needs, passed by the master in the environment (see WORKER_CONFIG_ENV). */
export interface WorkerConfig {
  slot: number;
  host: string;
  port: number;
  backlog: number;
  accept: AcceptMode;
  /**
   * How this worker listens: `cluster` (shared and rr: through cluster's master handle), `addon`
   * (reuseport: its own SO_REUSEPORT socket from the native addon, on `bindHost`; the worker is
   * a plain child process, not a cluster worker) or `net` (reuseport: net's own reusePort).
   */
  listen: 'cluster' | 'addon' | 'net';
  /** The numeric address `host` resolved to, for the addon (which does not resolve names). */
  bindHost: string;
  /** What speaks HTTP: our loop on node:net, or node:http (absent from older masters: net). */
  engine?: ServerEngine;
  resource: ResourceKind;
  payloadBytes: number;
  /** Resolved directory for the file resource. */
  root: string | undefined;
  timeouts: HttpTimeouts;
  /** How often the worker pushes its counters to the master unasked. */
  reportMs: number;
  /** Send large prebuilt responses with sendfile (the master checked the addon loads). */
  zeroCopy: boolean;
}

export const WORKER_CONFIG_ENV = 'SCALEUP_SERVER_WORKER_CONFIG';

export async function createResource(
  config: Pick<WorkerConfig, 'resource' | 'payloadBytes' | 'root'>,
): Promise<Resource> {
  if (config.resource === 'file') {
    if (config.root === undefined) throw new Error('the file resource needs a root directory');
    return FileResource.create({ root: config.root });
  }
  return createMemoryResource(config.payloadBytes, config.resource === 'data' ? 'text/html' : null);
}

function createEngine(config: WorkerConfig, resource: Resource): WorkerEngine {
  if (config.engine === 'http') return new NodeHttpEngine(resource, config.timeouts);
  const addon = config.zeroCopy ? loadZeroCopy().addon : null;
  return netEngine(resource, config.timeouts, addon === null ? null : new ZeroCopySender(addon));
}

function send(message: WorkerMessage, done?: () => void): void {
  if (process.send === undefined || !process.connected) {
    done?.();
    return;
  }
  try {
    process.send(message, undefined, {}, () => done?.());
  } catch {
    done?.();
  }
}

/**
 * A worker process: listens on the shared socket (in cluster's SCHED_NONE mode `listen` receives
 * the master's handle and only sets the backlog) or on its own SO_REUSEPORT socket, serves, and
 * reports counters over IPC.
 */
export async function runWorker(config: WorkerConfig): Promise<void> {
  startClock();
  const resource = await createResource(config);
  const http = createEngine(config, resource);
  const sample = () =>
    sampleProcess(http.counters.requests, http.counters.connections, http.zeroCopyResponses());
  let stopping = false;

  const shutdown = async (graceMs: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => http.destroyAll(), graceMs);
    force.unref();
    await http.shutdown();
    clearTimeout(force);
    resource.close();
    const exit = () => process.exit(0);
    // The IPC write must flush before exit, or the master never sees the final counters.
    setTimeout(exit, 500).unref();
    send({ type: 'stats', sample: sample(), final: true }, exit);
  };

  process.on('message', (message: MasterMessage) => {
    if (message.type === 'stats?') send({ type: 'stats', sample: sample(), final: false });
    else if (message.type === 'shutdown') void shutdown(message.graceMs);
  });
  // Ctrl-C reaches the whole process group; the master coordinates the stop, so ignore it here.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => void shutdown(4000));
  // A cluster worker exits by itself when its IPC channel closes (the master died); a worker
  // forked with child_process (reuseport through the addon) must do it itself.
  if (!cluster.isWorker) process.once('disconnect', () => process.exit(0));

  const report = setInterval(() => send({ type: 'stats', sample: sample(), final: false }), config.reportMs);
  report.unref();

  const cannotListen = (error: NodeJS.ErrnoException) => {
    send(
      {
        type: 'fatal',
        message: `cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`,
      },
      () => process.exit(1),
    );
  };
  http.server.on('error', cannotListen);
  const onListening = () => {
    const address = http.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    send({ type: 'listening', port, sample: sample() });
  };
  if (config.listen === 'addon') {
    const load = loadReusePort();
    if (load.addon === null) throw new Error(load.note);
    // A cluster worker's listen({ fd }) would ask the cluster master to wrap that fd number in
    // *its* process.
    if (cluster.isWorker) throw new Error('a reuseport worker must not be a cluster worker');
    let fd: number;
    try {
      fd = load.addon.listenReusePort(config.bindHost, config.port, config.backlog);
    } catch (error) {
      cannotListen(error as NodeJS.ErrnoException);
      return;
    }
    // Not a cluster worker, so listen({ fd }) wraps this process's own fd rather than asking a
    // cluster master for it. Node listens again with the backlog given here: pass the same one.
    http.server.listen({ fd }, config.backlog, onListening);
    return;
  }
  const reusePort = config.listen === 'net';
  http.server.listen(
    {
      host: config.host,
      port: config.port,
      backlog: config.backlog,
      // reuseport: each worker binds its own socket, so it must not go through the cluster master.
      exclusive: reusePort,
      ...(reusePort ? { reusePort: true } : {}),
    },
    onListening,
  );
}

/** Entry point of a forked worker: config from the environment, any startup error is fatal. */
export function workerMain(): void {
  const raw = process.env[WORKER_CONFIG_ENV];
  if (raw === undefined) {
    process.stderr.write('scaleup server worker: started without its configuration\n');
    process.exit(1);
  }
  const config = JSON.parse(raw) as WorkerConfig;
  runWorker(config).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    send({ type: 'fatal', message: `worker ${config.slot}: ${message}` }, () => process.exit(1));
  });
}
