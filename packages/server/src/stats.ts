import type { AcceptMode, ResourceKind, SendMode, ServerStatsFile, WorkerStats } from '@scaleup/core';

/** What a worker reports about itself over IPC; the master adds slot and restarts. */
export interface WorkerSample {
  pid: number;
  requests: number;
  connections: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  rssBytes: number;
  zeroCopyResponses: number;
}

export type WorkerMessage =
  | { type: 'listening'; port: number; sample: WorkerSample }
  | { type: 'stats'; sample: WorkerSample; final: boolean }
  | { type: 'fatal'; message: string };

export type MasterMessage = { type: 'stats?' } | { type: 'shutdown'; graceMs: number };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'listening' || type === 'stats' || type === 'fatal';
}

export function sampleProcess(
  requests: number,
  connections: number,
  zeroCopyResponses: number,
): WorkerSample {
  const cpu = process.cpuUsage();
  return {
    pid: process.pid,
    requests,
    connections,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    rssBytes: process.memoryUsage.rss(),
    zeroCopyResponses,
  };
}

export function workerStats(slot: number, restarts: number, sample: WorkerSample): WorkerStats {
  return {
    slot,
    pid: sample.pid,
    requests: sample.requests,
    connections: sample.connections,
    cpuUserSeconds: Math.round(sample.cpuUserSeconds * 1e6) / 1e6,
    cpuSystemSeconds: Math.round(sample.cpuSystemSeconds * 1e6) / 1e6,
    rssBytes: sample.rssBytes,
    restarts,
    zeroCopyResponses: sample.zeroCopyResponses,
  };
}

export interface StatsFileContext {
  masterPid: number;
  accept: AcceptMode;
  resource: ResourceKind;
  payloadBytes: number;
  port: number;
  host: string;
  backlog: number;
  effectiveBacklog: number;
  send: SendMode;
  zeroCopy: ServerStatsFile['zeroCopy'];
}

export function statsFile(
  context: StatsFileContext,
  event: ServerStatsFile['event'],
  uptimeSeconds: number,
  workers: WorkerStats[],
  retired: { requests: number; connections: number },
  now: Date = new Date(),
): ServerStatsFile {
  return {
    schema: 'scaleup.server-stats/1',
    event,
    masterPid: context.masterPid,
    accept: context.accept,
    resource: context.resource,
    payloadBytes: context.payloadBytes,
    port: context.port,
    host: context.host,
    backlog: context.backlog,
    effectiveBacklog: context.effectiveBacklog,
    send: context.send,
    zeroCopy: { ...context.zeroCopy },
    writtenAt: now.toISOString(),
    uptimeSeconds: Math.round(uptimeSeconds * 1000) / 1000,
    workers: [...workers].sort((a, b) => a.slot - b.slot),
    retired: { ...retired },
  };
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * One compact line per worker, e.g.
 * `worker 0 pid 4242: 120345 req (24069/s), 128 conn, cpu 3.91u 0.88s, rss 61.2 MB, restarts 0`.
 * `requestsPerSecond` is over the last interval, or null when there is no previous sample.
 */
export function formatWorkerLine(stats: WorkerStats, requestsPerSecond: number | null): string {
  const rate = requestsPerSecond === null ? '' : ` (${Math.round(requestsPerSecond)}/s)`;
  return (
    `worker ${stats.slot} pid ${stats.pid}: ${stats.requests} req${rate}, ${stats.connections} conn, ` +
    `cpu ${stats.cpuUserSeconds.toFixed(2)}u ${stats.cpuSystemSeconds.toFixed(2)}s, ` +
    `rss ${megabytes(stats.rssBytes)} MB, restarts ${stats.restarts}`
  );
}

export function readyLine(options: {
  host: string;
  port: number;
  workers: number;
  accept: AcceptMode;
  resource: ResourceKind;
  payloadBytes: number;
  masterPid: number;
  zeroCopy: { active: boolean; minBytes: number };
}): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return (
    `scaleup server ready: http://${host}:${options.port}/ (${options.workers} workers, accept=${options.accept}, ` +
    `resource=${options.resource}, payload=${options.payloadBytes} B, ` +
    `send=${options.zeroCopy.active ? `sendfile from ${options.zeroCopy.minBytes} B` : 'write'}, master pid ${options.masterPid})`
  );
}
