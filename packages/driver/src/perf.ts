import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FoldedStack,
  foldPerfScript,
  PERF_SCRIPT_FIELDS,
  type ProfileBreakdown,
  profileBreakdown,
} from '@scaleup/core';
import { childPids, isAlive, supervisedCommand, waitFor } from '@scaleup/core/io';
import { execa } from 'execa';
import { probeOutput, whichOnPath } from './detect.ts';

/**
 * CPU profiles with Linux perf: a software clock event (hardware counters are often missing in
 * virtual machines), call graphs from frame pointers, kernel frames where the kernel shows them,
 * JavaScript frames from the /tmp/perf-<pid>.map Node writes with --perf-basic-prof.
 */

export const PERF_INSTALL = 'apt-get install linux-perf';

export type PerfDetection =
  | { ok: true; path: string; version: string }
  | { ok: false; problem: string; fix: string };

export const PERF_SAMPLE_HZ = 999;
/** A software clock: sampling that needs no hardware counter (missing in many VMs). */
export const PERF_EVENT = 'cpu-clock';

/** What perf_event_paranoid allows a user other than root: <= 1 lets it sample the kernel too. */
export function paranoidProblem(paranoid: number | null, uid: number): string | null {
  if (uid === 0 || paranoid === null || paranoid <= 1) return null;
  return `the kernel refuses CPU profiles to non-root users (kernel.perf_event_paranoid is ${paranoid})`;
}

/** Whether perf runs and the kernel lets this user profile other processes with kernel frames. */
export async function detectPerf(
  env: { uid?: number; paranoid?: number | null } = {},
): Promise<PerfDetection> {
  const path = await whichOnPath('perf');
  if (path === null) return { ok: false, problem: 'perf is not installed', fix: PERF_INSTALL };
  // Debian's /usr/bin/perf is a wrapper that needs perf for the running kernel's version.
  const output = await probeOutput(path, ['--version']);
  const version = /perf version (\S+)/.exec(output)?.[1];
  if (version === undefined) {
    const said = output.trim().split('\n')[0] ?? '';
    return { ok: false, problem: `perf does not run here (${said || 'no output'})`, fix: PERF_INSTALL };
  }
  const paranoid =
    env.paranoid !== undefined
      ? env.paranoid
      : await readFile('/proc/sys/kernel/perf_event_paranoid', 'utf8').then(
          (text) => Number(text.trim()),
          () => null,
        );
  const refused = paranoidProblem(paranoid, env.uid ?? process.getuid?.() ?? 0);
  if (refused !== null) {
    return { ok: false, problem: refused, fix: 'run as root, or: sysctl -w kernel.perf_event_paranoid=1' };
  }
  return { ok: true, path, version };
}

export interface PerfRecordPlan {
  pids: readonly number[];
  seconds: number;
  output: string;
  frequencyHz?: number;
}

/** `perf record` for all `pids` (every thread of each) during `seconds`, with call graphs. */
export function perfRecordArgs(plan: PerfRecordPlan): string[] {
  if (plan.pids.length === 0) throw new Error('perf record needs at least one pid');
  return [
    'record',
    ...['-e', PERF_EVENT, '-F', String(plan.frequencyHz ?? PERF_SAMPLE_HZ), '-g'],
    ...['-p', plan.pids.join(','), '-o', plan.output],
    // With -p, the command only sets how long to record.
    ...['--', 'sleep', String(plan.seconds)],
  ];
}

export function perfScriptArgs(input: string): string[] {
  return ['script', '-F', PERF_SCRIPT_FIELDS, '-i', input];
}

/** The pids and, with `descendants`, all their children's pids (a server's master and workers). */
export async function profileTargets(pids: readonly number[], descendants = true): Promise<number[]> {
  const out = new Set<number>();
  const queue = [...pids];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (out.has(pid) || !(await isAlive(pid))) continue;
    out.add(pid);
    if (descendants) queue.push(...(await childPids(pid)));
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * One line from perf's complaint (it writes a page when the kernel refuses): what a user can
 * act on.
 */
export function perfFailure(stderr: string, exitCode: number | undefined): string {
  const paranoid = /perf_event_paranoid setting is (-?\d+)/.exec(stderr);
  if (paranoid !== null) {
    return `the kernel refuses CPU profiles (kernel.perf_event_paranoid is ${paranoid[1]}): run as root, or: sysctl -w kernel.perf_event_paranoid=1`;
  }
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    // Progress lines, and threads that ended while perf opened its events, say nothing of why.
    .filter(
      (line) => line !== '' && !line.startsWith('[ perf record:') && !line.includes('Ignored open failure'),
    );
  const first =
    lines.find((line) => /error|fail|cannot|can't|couldn't|no such|permission/i.test(line)) ?? lines[0];
  return `perf record failed (exit ${exitCode ?? '?'}): ${first ?? 'no message'}`;
}

export interface RecordedProfile {
  pids: number[];
  seconds: number;
  stacks: FoldedStack[];
  breakdown: ProfileBreakdown;
}

export class PerfError extends Error {}

/** perf script over a recording, folded: perf.script lands beside perf.data in `dir`. */
async function foldRecording(
  perf: string,
  dir: string,
  data: string,
  meta: { pids: readonly number[]; seconds: number; top?: number | undefined },
): Promise<RecordedProfile> {
  const scriptPath = join(dir, 'perf.script');
  const script = await execa(perf, perfScriptArgs(data), {
    reject: false,
    stdin: 'ignore',
    stdout: { file: scriptPath },
    timeout: 300_000,
  });
  if (script.exitCode !== 0) {
    throw new PerfError(
      `perf script failed (exit ${script.exitCode}): ${script.stderr.trim().split('\n')[0]}`,
    );
  }
  const stacks = foldPerfScript(await readFile(scriptPath, 'utf8'));
  return {
    pids: [...meta.pids],
    seconds: meta.seconds,
    stacks,
    breakdown: profileBreakdown(stacks, meta.top),
  };
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/**
 * Samples `pids` for `seconds` and folds the result. The raw perf.data and the perf script text
 * live in a private temporary directory that is removed afterwards.
 */
export async function recordProfile(options: {
  perf: string;
  pids: readonly number[];
  seconds: number;
  frequencyHz?: number;
  top?: number;
}): Promise<RecordedProfile> {
  const window = await startProfile({ ...options, maxSeconds: options.seconds });
  return window.finish();
}

/**
 * A recording under way: stop() ends it now, finish() lets it run to its bound; both fold it.
 * cancel() ends it and keeps nothing.
 */
export interface ProfileWindow {
  stop(): Promise<RecordedProfile>;
  finish(): Promise<RecordedProfile>;
  cancel(): Promise<void>;
}

const WINDOW_START_MS = 15_000;
const WINDOW_STOP_MS = 30_000;

/** The pid of perf's workload once it runs `sleep`: perf enables its events just before. */
async function recordingStarted(perfPid: number, exited: () => boolean): Promise<number | null> {
  return waitFor(
    async () => {
      if (exited()) return null;
      const children = await readFile(`/proc/${perfPid}/task/${perfPid}/children`, 'utf8').catch(() => '');
      const child = Number(children.trim().split(/\s+/)[0]);
      if (!Number.isInteger(child) || child <= 0) return undefined;
      const comm = await readFile(`/proc/${child}/comm`, 'utf8').catch(() => '');
      return comm.trim() === 'sleep' ? child : undefined;
    },
    { timeoutMs: WINDOW_START_MS, intervalMs: 10, what: 'perf record to start sampling' },
  );
}

/**
 * Starts sampling `pids` (every thread of each, with call graphs) until stop(), or `maxSeconds`
 * at most: for a window whose length is known only when it ends (a load run). Resolves once perf
 * samples; a perf that refuses is a PerfError with its own reason.
 */
export async function startProfile(options: {
  perf: string;
  pids: readonly number[];
  maxSeconds: number;
  frequencyHz?: number;
  top?: number;
}): Promise<ProfileWindow> {
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-profile-'));
  const data = join(dir, 'perf.data');
  const seconds = options.maxSeconds;
  const record = supervisedCommand(
    options.perf,
    perfRecordArgs({ pids: options.pids, seconds, output: data, frequencyHz: options.frequencyHz }),
    // perf writes what it has on SIGINT: a dying caller still leaves a readable file.
    { deathSignal: 'INT' },
  );
  const child = execa(record.file, record.args, {
    reject: false,
    stdin: 'ignore',
    timeout: (seconds + 60) * 1000,
  });
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  const started = Date.now();
  const cleanUp = () => rm(dir, { recursive: true, force: true });
  const sleeper = await recordingStarted(child.pid ?? -1, () => exited).catch(() => null);
  if (sleeper === null) {
    if (!exited) child.kill('SIGKILL');
    const outcome = await child;
    await cleanUp();
    throw new PerfError(perfFailure(String(outcome.stderr), outcome.exitCode));
  }
  const end = async (now: boolean) => {
    if (!now) return child;
    // Ending perf's workload ends the recording; perf then writes perf.data and exits.
    try {
      if (!exited) process.kill(sleeper, 'SIGTERM');
    } catch {
      // Already gone: perf reached its bound and is ending on its own.
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), WINDOW_STOP_MS);
    return child.finally(() => clearTimeout(timer));
  };
  const fold = async (now: boolean) => {
    try {
      const outcome = await end(now);
      // perf exits with its workload's status (killed: 143): the data file says whether it recorded.
      if ((await sizeOf(data)) === 0)
        throw new PerfError(perfFailure(String(outcome.stderr), outcome.exitCode));
      return await foldRecording(options.perf, dir, data, {
        pids: options.pids,
        seconds: now ? (Date.now() - started) / 1000 : seconds,
        top: options.top,
      });
    } finally {
      await cleanUp();
    }
  };
  return {
    stop: () => fold(true),
    finish: () => fold(false),
    async cancel() {
      await end(true);
      await cleanUp();
    },
  };
}

/** The tracepoint every system call enters through: counting it needs no hardware counter. */
export const SYSCALL_EVENT = 'raw_syscalls:sys_enter';

/**
 * `perf stat` counting system calls of every thread of `pids`, in CSV (`-x,`, on stderr). With
 * -p the command only bounds the window: ending `sleep` early ends the count, and perf prints
 * what it counted (perf itself ignores SIGINT while it waits, and dies silently on SIGTERM).
 */
export function perfStatSyscallArgs(pids: readonly number[], maxSeconds: number): string[] {
  if (pids.length === 0) throw new Error('perf stat needs at least one pid');
  return ['stat', '-x,', '-e', SYSCALL_EVENT, '-p', pids.join(','), '--', 'sleep', String(maxSeconds)];
}

export type PerfCount = { ok: true; count: number } | { ok: false; problem: string };

/**
 * The count of `event` from `perf stat -x,` output (fields: count, unit, event, running time,
 * percentage running, ...). `<not counted>` and `<not supported>` say why there is no number;
 * anything else is perf's own first line of complaint.
 */
export function parsePerfStatCount(output: string, event = SYSCALL_EVENT): PerfCount {
  const lines = output.split('\n').map((line) => line.trim());
  for (const line of lines) {
    const fields = line.split(',');
    if (fields.length < 3 || fields[2] !== event) continue;
    const value = fields[0] ?? '';
    if (/^\d+$/.test(value)) return { ok: true, count: Number(value) };
    if (value.startsWith('<')) {
      return { ok: false, problem: `perf stat: ${event} ${value.replace(/[<>]/g, '')} for these processes` };
    }
    return { ok: false, problem: `perf stat: unreadable count '${value}' for ${event}` };
  }
  // perf's usage page follows its complaint; its Error: line, where it writes one, says why.
  const error = lines.find((line) => line.startsWith('Error:'))?.replace(/^Error:\s*/, '');
  const said = error ?? lines.find((line) => line !== '' && !line.startsWith('Usage:'));
  return { ok: false, problem: `perf stat counted nothing: ${said ?? 'no output'}` };
}
