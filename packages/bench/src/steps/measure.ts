import {
  type LoadSpec,
  type ProcessCpuSample,
  type Repetition,
  type ResponseForm,
  repetitionCost,
  type TcpCounters,
} from '@scaleup/core';
import { parseProcessCpu } from '@scaleup/core/io';
import { tcpCounterDelta, tcpCountersFrom } from '../kernel.ts';
import type { LoadProgress, LoadToolPort } from '../ports.ts';
import { contextSwitchDelta, readContextSwitches, type SyscallCounter } from '../server-cost.ts';
import type { ServerUnderTest } from '../servers.ts';
import { judgeRepetition } from '../verdict.ts';

type Role = ProcessCpuSample['role'];

/** CPU times of the server's processes, read on the server's own host. */
async function sampleCpu(server: ServerUnderTest, processes: { pid: number; role: Role }[]) {
  const samples = await Promise.all(
    processes.map(async (p) => {
      const stat = await server.readFile(`/proc/${p.pid}/stat`);
      return { ...p, cpu: stat === null ? null : parseProcessCpu(p.pid, stat) };
    }),
  );
  return new Map(samples.filter((s) => s.cpu !== null).map((s) => [s.pid, s]));
}

/** Total and steal jiffies of the server host, from the first line of /proc/stat. */
async function readCpuTimes(server: ServerUnderTest): Promise<{ total: number; steal: number } | null> {
  const text = await server.readFile('/proc/stat');
  const fields = text?.split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (fields === undefined || fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice, already in user and nice]
  return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7]! };
}

/** The kernel's TCP counters of the server host's network namespace, or null where unreadable. */
async function readTcp(server: ServerUnderTest): Promise<TcpCounters | null> {
  const [netstat, snmp] = await Promise.all([
    server.readFile('/proc/net/netstat'),
    server.readFile('/proc/net/snmp'),
  ]);
  return netstat === null || snmp === null ? null : tcpCountersFrom(netstat, snmp);
}

/** Everything a repetition reads on the server's host, once before the load run and once after. */
async function sampleServer(server: ServerUnderTest, processes: { pid: number; role: Role }[]) {
  const [cpu, tcp, workers, times, switches] = await Promise.all([
    sampleCpu(server, processes),
    readTcp(server),
    server.workerCounters(),
    readCpuTimes(server),
    readContextSwitches(
      (path) => server.readFile(path),
      processes.map((p) => p.pid),
    ),
  ]);
  return { cpu, tcp, workers, times, switches };
}

/**
 * Live progress while a tool runs: elapsed time always; requests served and the current rate
 * where the server reports them (scaleup's stats file), since most tools print nothing until done.
 */
function progressTicker(
  server: ServerUnderTest,
  start: bigint,
  onProgress: (progress: LoadProgress) => void,
): () => void {
  let first: number | null | undefined;
  let previous: { requests: number; at: bigint } | null = null;
  const timer = setInterval(() => {
    void server.liveRequests().then((requests) => {
      const now = process.hrtime.bigint();
      if (first === undefined) first = requests;
      let rate: number | null = null;
      if (requests !== null && previous !== null && now > previous.at) {
        rate = ((requests - previous.requests) * 1e9) / Number(now - previous.at);
      }
      if (requests !== null) previous = { requests, at: now };
      onProgress({
        elapsedSeconds: Number(now - start) / 1e9,
        requestsDone: requests === null || first === null || first === undefined ? null : requests - first,
        requestsPerSecond: rate,
      });
    });
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

export interface MeasureInput {
  server: ServerUnderTest;
  payloadBytes: number;
  responseForms: readonly ResponseForm[];
  closeAfterRequests: number | null;
  round: number;
  spec: LoadSpec;
  tool: LoadToolPort;
  rawOutputPath: string;
  /** The cores (or quota) the server side had, for its utilisation. */
  serverCores: number;
  signal: AbortSignal;
  now: () => Date;
  onProgress: (progress: LoadProgress) => void;
  /** Counts the server's system calls during the load; null: not counted. */
  syscalls: SyscallCounter | null;
}

/** The longest a load run can last: what bounds the system call count's window. */
export function windowBoundSeconds(spec: LoadSpec): number {
  return (spec.durationSeconds ?? 0) + spec.timeoutSeconds + 60;
}

/**
 * One repetition: the server's CPU and TCP counters and per-worker counters around one load
 * run, then the verdict. Nothing here formats or saves; the caller records the result.
 */
export async function measureRepetition(input: MeasureInput): Promise<Repetition> {
  const { server } = input;
  const startedAt = input.now().toISOString();
  const processes = await server.processes();
  const pids = processes.map((p) => p.pid);
  const atStart = await sampleServer(server, processes);
  const syscallWindow = (await input.syscalls?.start(pids, windowBoundSeconds(input.spec))) ?? null;
  const wallStart = process.hrtime.bigint();
  const stopTicker = progressTicker(server, wallStart, input.onProgress);
  // The whole latency distribution served any merge; results.json keeps the percentiles.
  const { latencyHistogram: _, ...load } = await input.tool
    .run(input.spec, { rawOutputPath: input.rawOutputPath, signal: input.signal })
    .catch(async (error: unknown) => {
      // A failed run must not leave perf counting until its bound.
      await syscallWindow?.stop();
      throw error;
    })
    .finally(stopTicker);
  const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const syscalls = syscallWindow === null ? null : (await syscallWindow.stop()).count;
  const atEnd = await sampleServer(server, processes);
  const elapsedJiffies =
    atStart.times === null || atEnd.times === null ? 0 : atEnd.times.total - atStart.times.total;
  const stealFraction =
    elapsedJiffies > 0
      ? Math.min(1, Math.max(0, (atEnd.times!.steal - atStart.times!.steal) / elapsedJiffies))
      : null;
  const serverCpu: ProcessCpuSample[] = [];
  for (const [pid, after] of atEnd.cpu) {
    const before = atStart.cpu.get(pid);
    if (before === undefined || before.cpu === null || after.cpu === null) continue;
    serverCpu.push({
      pid,
      role: after.role,
      userSeconds: Math.max(0, after.cpu.userSeconds - before.cpu.userSeconds),
      systemSeconds: Math.max(0, after.cpu.systemSeconds - before.cpu.systemSeconds),
    });
  }
  const serverCpuSeconds = serverCpu.reduce((sum, p) => sum + p.userSeconds + p.systemSeconds, 0);
  const serverCpuUtilisation =
    serverCpu.length === 0 || wallSeconds <= 0 ? null : serverCpuSeconds / (wallSeconds * input.serverCores);
  let workers: Repetition['workers'] = null;
  const workersBefore = atStart.workers;
  if (workersBefore !== null && atEnd.workers !== null) {
    workers = atEnd.workers.map((after) => {
      // A respawned worker restarts its counters; count it from zero.
      const before = workersBefore.find((b) => b.slot === after.slot && b.pid === after.pid);
      return {
        slot: after.slot,
        pid: after.pid,
        requests: Math.max(0, after.requests - (before?.requests ?? 0)),
        connections: Math.max(0, after.connections - (before?.connections ?? 0)),
      };
    });
  }
  const inFlight = input.spec.durationSeconds !== undefined ? input.spec.connections : 0;
  return {
    round: input.round,
    startedAt,
    load,
    serverCpu,
    serverCpuUtilisation,
    workers,
    tcp: atStart.tcp !== null && atEnd.tcp !== null ? tcpCounterDelta(atStart.tcp, atEnd.tcp) : null,
    stealFraction,
    cost: repetitionCost({
      load,
      serverCpu,
      serverContextSwitches: contextSwitchDelta(atStart.switches, atEnd.switches),
      serverSyscalls: syscalls,
    }),
    verdict: judgeRepetition({
      load,
      expectedBodyBytes: input.payloadBytes,
      serverCpuUtilisation,
      inFlightResponses: inFlight,
      ...(input.spec.requests !== undefined ? { requestedCount: input.spec.requests } : {}),
      responseForms: input.responseForms,
      closeAfterRequests: input.closeAfterRequests,
      connections: input.spec.connections,
    }),
  };
}
