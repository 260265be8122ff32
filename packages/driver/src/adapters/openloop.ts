import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { LoadSpec } from '@scaleup/core';
import { z } from 'zod';
import { binaryCommand, type Detection, type LoadToolAdapter, parseWith } from '../adapter.ts';
import { probeOutput } from '../detect.ts';
import { decodeHistogram, histogramPairs } from '../hdr.ts';
import { openloopBinary } from '../openloop-build.ts';
import { countErrors, NO_LATENCY, type ParsedRun, type ParseOptions, unreadableRun } from '../result.ts';

const INSTALL = 'pnpm build:openloop (gcc, libc6-dev and zlib1g-dev from apt; scripts/setup.sh does it)';

/** Seconds one request may take before it counts as timed out (openloop's -T), within the spec's bound. */
export function requestTimeoutSeconds(spec: Pick<LoadSpec, 'durationSeconds' | 'timeoutSeconds'>): number {
  const room = (spec.timeoutSeconds - (spec.durationSeconds ?? 0)) / 2;
  return Math.min(10, Math.max(0.5, Math.round(room * 1000) / 1000));
}

const count = z.number().int().nonnegative();
const micros = z.number().nonnegative();

/** The JSON document openloop prints on stdout (native/openloop.c, print_report). */
const OpenloopOutputSchema = z.object({
  tool: z.literal('openloop'),
  version: z.string(),
  rate: z.number().positive(),
  durationSeconds: z.number().positive(),
  threads: z.number().int().positive(),
  elapsedSeconds: z.number().nonnegative(),
  expectBytes: z.number().int().nonnegative().nullable(),
  requests: z.object({
    planned: count,
    sent: count,
    completed: count,
    ok: count,
    wrongBodySize: count,
    errored: count,
    unsent: count,
  }),
  status: z.object({ '1xx': count, '2xx': count, '3xx': count, '4xx': count, '5xx': count }),
  errors: z.object({ connect: count, read: count, write: count, parse: count, timeout: count }),
  bytes: z.object({ total: count, headers: count, body: count }),
  sends: z.object({ lateBoundMicros: micros, late: count, maxLagMicros: micros }),
  connections: z.object({
    min: count,
    max: count,
    opened: count,
    peak: count,
    limitReached: z.boolean(),
    requestsWaitingAtLimit: count,
    failedBeforeStart: count,
  }),
  latencyMicros: z.object({
    min: micros,
    mean: micros,
    stdev: micros,
    max: micros,
    p50: micros,
    p75: micros,
    p90: micros,
    p99: micros,
    p999: micros,
  }),
  histogram: z.object({
    lowestMicros: count,
    highestMicros: count,
    significantDigits: count,
    encoding: z.string(),
    value: z.string(),
  }),
});
type OpenloopOutput = z.infer<typeof OpenloopOutputSchema>;

/**
 * openloop (packages/driver/native/openloop.c): scaleup's own constant-rate tool. Requests go out
 * at fixed intended times whatever the server does, and every latency counts from that time.
 */
export const openloop: LoadToolAdapter = {
  name: 'openloop',

  async detect(): Promise<Detection> {
    const binary = openloopBinary();
    try {
      await access(binary, constants.X_OK);
    } catch {
      return { found: false, reason: `openloop is not built (${binary})`, install: INSTALL };
    }
    const match = /^openloop (\S+)/m.exec(await probeOutput(binary, ['--version']));
    if (match === null) return { found: false, reason: 'openloop does not run', install: INSTALL };
    return { found: true, version: match[1] ?? 'unknown', path: binary };
  },

  refuse(spec) {
    const problems: string[] = [];
    if (spec.ratePerSecond === undefined) {
      problems.push('openloop offers a constant rate: give one (--rate R, responses per second)');
    }
    if (spec.requests !== undefined) {
      problems.push('openloop runs for a duration (-d SECONDS), not a request count');
    }
    if (spec.method !== 'GET') problems.push(`openloop sends GET only, not ${spec.method}`);
    if (spec.maxConnections !== undefined && spec.maxConnections < spec.connections) {
      problems.push(
        `--max-connections (${spec.maxConnections}) is below --connections (${spec.connections})`,
      );
    }
    const planned = (spec.ratePerSecond ?? 0) * (spec.durationSeconds ?? 0);
    if (spec.ratePerSecond !== undefined && spec.durationSeconds !== undefined && Math.round(planned) < 1) {
      problems.push(`a rate of ${spec.ratePerSecond}/s for ${spec.durationSeconds} s is not one request`);
    }
    return problems;
  },

  buildArgs(spec) {
    const args = [
      '--rate',
      String(spec.ratePerSecond ?? 0),
      '--duration',
      String(spec.durationSeconds ?? 0),
      '--connections',
      String(spec.connections),
      '--threads',
      String(spec.threads),
      '--timeout',
      String(requestTimeoutSeconds(spec)),
    ];
    if (spec.maxConnections !== undefined) args.push('--max-connections', String(spec.maxConnections));
    if (spec.expectedBodyBytes !== undefined) args.push('--expect-bytes', String(spec.expectedBodyBytes));
    for (const [name, value] of Object.entries(spec.headers)) args.push('--header', `${name}: ${value}`);
    if (!spec.keepAlive && !Object.keys(spec.headers).some((h) => h.toLowerCase() === 'connection')) {
      args.push('--header', 'Connection: close');
    }
    args.push(spec.url);
    return args;
  },

  command: binaryCommand,

  parse: parseWith('openloop', parseOpenloop),
};

/** The report: from its first line to the histogram's, which ends it (stderr may follow in captures). */
function readOutput(stdout: string): OpenloopOutput | string {
  const start = stdout.indexOf('{"tool":"openloop"');
  if (start < 0) return 'openloop output has no report (the tool was killed or did not start)';
  const end = stdout.indexOf('"}}', start);
  let json: unknown;
  try {
    json = JSON.parse(stdout.slice(start, end < 0 ? undefined : end + 3));
  } catch {
    return 'openloop report is cut off (the tool was killed mid-report)';
  }
  const parsed = OpenloopOutputSchema.safeParse(json);
  return parsed.success
    ? parsed.data
    : `openloop report does not read: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`;
}

function parseOpenloop(
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
  options: ParseOptions,
): ParsedRun {
  const version = options.toolVersion ?? '';
  const output = readOutput(stdout);
  const toolLines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('openloop: '));
  if (typeof output === 'string') {
    const why = toolLines[0] ?? output;
    return unreadableRun('openloop', version, exitCode ? `${why} (exit code ${exitCode})` : why);
  }
  const run = runOf(output, version);
  run.errors.push(...toolLines.map((l) => l.slice('openloop: '.length)));
  run.errors.push(...problemsOf(output, run));
  if (exitCode !== undefined && exitCode !== null && exitCode !== 0) {
    run.completed = false;
    run.errors.push(`openloop exited with code ${exitCode}`);
  }
  return run;
}

/** The counts as the driver keeps them; when openloop checked body sizes itself, its count rules. */
function runOf(o: OpenloopOutput, version: string): ParsedRun {
  const r = o.requests;
  const checked = o.expectBytes !== null;
  const succeeded = checked ? r.ok : o.status['2xx'];
  const histogram = decodeHistogram(o.histogram.value);
  if (histogram.totalCount !== r.completed) {
    throw new Error(`the histogram holds ${histogram.totalCount} latencies for ${r.completed} responses`);
  }
  const l = o.latencyMicros;
  return {
    tool: 'openloop',
    toolVersion: o.version || version,
    elapsedSeconds: o.elapsedSeconds,
    requests: {
      total: r.planned,
      started: r.sent,
      succeeded,
      failed: r.completed - succeeded,
      errored: r.errored,
      timedOut: o.errors.timeout,
    },
    statusClasses: { ...o.status },
    bytes: { ...o.bytes },
    bodyBytesCover: checked ? null : 'responses',
    wrongBodySize: checked ? 0 : null,
    latency:
      r.completed === 0
        ? { ...NO_LATENCY, measuredFrom: 'intended-send' }
        : {
            minMicros: l.min,
            meanMicros: l.mean,
            stdevMicros: l.stdev,
            maxMicros: l.max,
            p50Micros: l.p50,
            p75Micros: l.p75,
            p90Micros: l.p90,
            p99Micros: l.p99,
            p999Micros: l.p999,
            measuredFrom: 'intended-send',
          },
    ...(r.completed === 0 ? {} : { latencyHistogram: histogramPairs(histogram) }),
    openLoop: {
      offeredPerSecond: o.rate,
      planned: r.planned,
      sent: r.sent,
      lateSends: o.sends.late,
      lateBoundMicros: o.sends.lateBoundMicros,
      maxSendLagMicros: o.sends.maxLagMicros,
      connectionsOpened: o.connections.opened,
      connectionsPeak: o.connections.peak,
      connectionLimit: o.connections.max,
      waitedAtConnectionLimit: o.connections.requestsWaitingAtLimit,
      histogram: o.histogram.value,
    },
    errors: [],
    completed: true,
  };
}

/**
 * Every reason to doubt the run, one line each. A tool that fell behind its schedule is not among
 * them: loadProblems and the bench's verdict judge that (openLoopBehind), so it is said once.
 */
function problemsOf(o: OpenloopOutput, run: ParsedRun): string[] {
  const lines: string[] = [];
  if (o.requests.wrongBodySize > 0) {
    lines.push(`${o.requests.wrongBodySize} responses had a body that is not ${o.expectBytes} bytes long`);
  }
  lines.push(...countErrors(run));
  const e = o.errors;
  if (e.connect + e.read + e.write + e.parse > 0) {
    lines.push(`socket errors: connect ${e.connect}, read ${e.read}, write ${e.write}, parse ${e.parse}`);
  }
  if (o.requests.unsent > 0) {
    lines.push(
      `${o.requests.unsent} of ${o.requests.planned} requests were never sent before the time was up`,
    );
  }
  if (o.connections.limitReached) {
    lines.push(
      `the connection limit (${o.connections.max}) was reached: ${o.connections.requestsWaitingAtLimit} ` +
        'requests waited for a connection (their latency still counts from their intended time)',
    );
  }
  return lines;
}
