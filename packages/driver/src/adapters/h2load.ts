import type { LoadSpec } from '@scaleup/core';
import { binaryCommand, type Detection, type LoadToolAdapter, parseWith } from '../adapter.ts';
import { probeOutput, whichOnPath } from '../detect.ts';
import {
  countBefore,
  countErrors,
  NO_LATENCY,
  type ParsedRun,
  type ParseOptions,
  parseDurationMicros,
  unreadableRun,
} from '../result.ts';

const INSTALL = 'apt-get install nghttp2-client (Debian/Ubuntu)';

function headerArgs(spec: LoadSpec): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(spec.headers)) args.push('-H', `${name}: ${value}`);
  // h2load has no switch for it; with this header it reconnects after every response.
  if (!spec.keepAlive && !Object.keys(spec.headers).some((h) => h.toLowerCase() === 'connection')) {
    args.push('-H', 'Connection: close');
  }
  return args;
}

/** `traffic: 5.28MB (5540000) total, 3.55MB (3720000) headers (...), 781.25KB (800000) data` */
function trafficBytes(line: string, label: string): number | null {
  const match = new RegExp(`\\((\\d+)\\) ${label}`).exec(line);
  return match ? Number(match[1]) : null;
}

/** h2load (nghttp2-client), forced to HTTP/1.1 with --h1. */
export const h2load: LoadToolAdapter = {
  name: 'h2load',

  async detect(): Promise<Detection> {
    const path = await whichOnPath('h2load');
    if (path === null) return { found: false, reason: 'h2load is not on PATH', install: INSTALL };
    const match = /h2load nghttp2\/(\S+)/.exec(await probeOutput(path, ['--version']));
    return { found: true, version: match?.[1] ?? 'unknown', path };
  },

  refuse(spec) {
    const problems: string[] = [];
    if (spec.method !== 'GET')
      problems.push(`h2load sends GET only (its -d switch POSTs a file), not ${spec.method}`);
    // h2load 1.52 rejects "-D 0.5" ("value error") and would end before its summary.
    if (spec.durationSeconds !== undefined && !Number.isInteger(spec.durationSeconds)) {
      problems.push(`h2load takes whole seconds, got a duration of ${spec.durationSeconds}`);
    }
    return problems;
  },

  buildArgs(spec) {
    const mode =
      spec.requests !== undefined ? ['-n', String(spec.requests)] : ['-D', String(spec.durationSeconds)];
    return [
      '--h1',
      ...mode,
      '-c',
      String(spec.connections),
      '-t',
      String(spec.threads),
      ...headerArgs(spec),
      spec.url,
    ];
  },

  command: binaryCommand,

  parse: parseWith('h2load', parseH2load),
};

function parseH2load(
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
  options: ParseOptions,
): ParsedRun {
  const text = `${stdout}\n${stderr}`;
  const version = options.toolVersion ?? '';
  const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));
  const finished = line('finished in ');
  const requests = line('requests: ');
  const status = line('status codes: ');
  const traffic = line('traffic: ');
  if (!finished || !requests || !status || !traffic) {
    const why =
      exitCode !== undefined && exitCode !== null && exitCode !== 0
        ? `h2load exited with code ${exitCode} before its summary`
        : 'h2load output has no summary (truncated: the tool was killed or died)';
    const toolError = text.split('\n').find((l) => /error|fatal|could not|failed/i.test(l));
    return unreadableRun('h2load', version, toolError ? `${why}: ${toolError.trim()}` : why);
  }

  const elapsed = parseDurationMicros(/^finished in (\S+),/.exec(finished)?.[1] ?? '');
  const n = (l: string, word: string) => countBefore(l, word) ?? 0;
  // h2load counts errored requests among its failed ones; here the two are disjoint.
  const toolFailed = n(requests, 'failed');
  const errored = n(requests, 'errored');
  const succeeded = n(requests, 'succeeded');
  const statusClasses = {
    '1xx': 0,
    '2xx': n(status, '2xx'),
    '3xx': n(status, '3xx'),
    '4xx': n(status, '4xx'),
    '5xx': n(status, '5xx'),
  };
  const headers = trafficBytes(traffic, 'headers');
  const body = trafficBytes(traffic, 'data');
  let total = trafficBytes(traffic, 'total') ?? 0;
  const errors: string[] = [];
  if (headers !== null && body !== null && total < headers + body) {
    // Seen with `Connection: close`: h2load then reports 0 bytes total but counts headers and data.
    errors.push(`h2load reported ${total} bytes total, below headers + data; total taken as headers + data`);
    total = headers + body;
  }
  const run: ParsedRun = {
    tool: 'h2load',
    toolVersion: version,
    elapsedSeconds: (elapsed ?? 0) / 1e6,
    requests: {
      total: n(requests, 'total'),
      started: n(requests, 'started'),
      succeeded,
      failed: Math.max(0, toolFailed - errored),
      errored,
      timedOut: n(requests, 'timeout'),
    },
    statusClasses,
    bytes: { total, headers, body },
    bodyBytesCover: 'responses',
    wrongBodySize: null,
    latency: h2loadLatency(text, succeeded + Math.max(0, toolFailed - errored)),
    errors,
    completed: exitCode === undefined || exitCode === null || exitCode === 0,
  };
  if (exitCode !== undefined && exitCode !== null && exitCode !== 0) {
    errors.push(`h2load exited with code ${exitCode}`);
  }
  errors.push(...countErrors(run));
  return run;
}

/** `time for request:  43us  1.66ms  101us  111us  97.20%` → min, max, mean, sd. No percentiles. */
function h2loadLatency(text: string, responses: number): ParsedRun['latency'] {
  const match = /^time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match || responses === 0) return { ...NO_LATENCY };
  return {
    ...NO_LATENCY,
    minMicros: parseDurationMicros(match[1] ?? ''),
    maxMicros: parseDurationMicros(match[2] ?? ''),
    meanMicros: parseDurationMicros(match[3] ?? ''),
    stdevMicros: parseDurationMicros(match[4] ?? ''),
  };
}
