import { fileURLToPath } from 'node:url';
import { binaryCommand, type Detection, type LoadToolAdapter, parseWith } from '../adapter.ts';
import { probeOutput, whichOnPath } from '../detect.ts';
import {
  NO_LATENCY,
  NO_STATUS,
  type ParsedRun,
  type ParseOptions,
  parseDurationMicros,
  unreadableRun,
} from '../result.ts';

const INSTALL = 'apt-get install wrk (Debian/Ubuntu)';
const SUMMARY_MARK = 'SCALEUP_WRK_SUMMARY ';
const HISTOGRAM_MARK = 'SCALEUP_WRK_HISTOGRAM ';

/** The Lua script that makes wrk print its exact counters; the text summary rounds them. */
export const WRK_SUMMARY_SCRIPT = fileURLToPath(new URL('./wrk-summary.lua', import.meta.url));

interface WrkSummary {
  durationMicros: number;
  requests: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyMicros: {
    min: number;
    max: number;
    mean: number;
    stdev: number;
    p50: number;
    p75: number;
    p90: number;
    p99: number;
    p999: number;
  };
}

/**
 * wrk: duration mode only. It counts responses with status >= 400 (not 4xx and 5xx apart) and
 * socket error events (connect, read, write, timeout) that are not requests: one refused
 * connection retried many times is many connect errors.
 */
export const wrk: LoadToolAdapter = {
  name: 'wrk',

  async detect(): Promise<Detection> {
    const path = await whichOnPath('wrk');
    if (path === null) return { found: false, reason: 'wrk is not on PATH', install: INSTALL };
    const match = /^wrk (\S+)/m.exec(await probeOutput(path, ['-v']));
    return { found: true, version: match?.[1] ?? 'unknown', path };
  },

  refuse(spec) {
    const problems: string[] = [];
    if (spec.requests !== undefined) {
      problems.push('wrk has no request-count mode: give a duration (-d SECONDS) instead of -n');
    }
    if (spec.durationSeconds !== undefined && !Number.isInteger(spec.durationSeconds)) {
      problems.push(`wrk takes whole seconds, got a duration of ${spec.durationSeconds}`);
    }
    if (spec.method !== 'GET') problems.push(`the wrk adapter sends GET only, not ${spec.method}`);
    return problems;
  },

  buildArgs(spec) {
    const args = [
      '-t',
      String(spec.threads),
      '-c',
      String(spec.connections),
      '-d',
      `${spec.durationSeconds ?? 0}s`,
      '--latency',
      '-s',
      WRK_SUMMARY_SCRIPT,
    ];
    for (const [name, value] of Object.entries(spec.headers)) args.push('-H', `${name}: ${value}`);
    if (!spec.keepAlive && !Object.keys(spec.headers).some((h) => h.toLowerCase() === 'connection')) {
      args.push('-H', 'Connection: close');
    }
    args.push(spec.url);
    return args;
  },

  command: binaryCommand,

  parse: parseWith('wrk', parseWrk),
};

function parseWrk(
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
  options: ParseOptions,
): ParsedRun {
  const text = `${stdout}\n${stderr}`;
  const version = options.toolVersion ?? '';
  const summary = readSummary(text) ?? readText(text);
  if (summary === null) {
    const toolLine = text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('Running') && !/threads and/.test(l));
    const why = toolLine
      ? `wrk stopped without a summary: ${toolLine}`
      : 'wrk output has no summary (truncated)';
    return unreadableRun('wrk', version, why);
  }
  const { errors: e } = summary;
  const complete = summary.requests;
  const failed = Math.min(e.status, complete);
  const succeeded = complete - failed;
  const errored = e.connect + e.read + e.write + e.timeout;
  const errors: string[] = [];
  const run: ParsedRun = {
    tool: 'wrk',
    toolVersion: version,
    elapsedSeconds: summary.durationMicros / 1e6,
    requests: { total: complete, started: complete, succeeded, failed, errored, timedOut: e.timeout },
    // wrk cannot tell 2xx from 1xx/3xx, nor 4xx from 5xx.
    statusClasses: { ...NO_STATUS, '2xx': succeeded, '4xx': failed },
    bytes: { total: summary.bytes, headers: null, body: null },
    bodyBytesCover: null,
    wrongBodySize: null,
    latency: complete === 0 ? { ...NO_LATENCY } : wrkLatency(summary.latencyMicros),
    ...histogramOf(text),
    errors,
    completed: exitCode === undefined || exitCode === null || exitCode === 0,
  };
  if (!run.completed) errors.push(`wrk exited with code ${exitCode}`);
  if (failed > 0) {
    errors.push(`${failed} responses with status >= 400 (wrk does not split 4xx from 5xx; counted as 4xx)`);
  }
  if (errored > 0) {
    errors.push(
      `socket errors (events, not requests): connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`,
    );
  }
  return run;
}

/** The distribution line of wrk-summary.lua, when the output has it (not in hand-run captures). */
function histogramOf(text: string): { latencyHistogram?: [number, number][] } {
  const line = text.split('\n').find((l) => l.startsWith(HISTOGRAM_MARK));
  if (line === undefined) return {};
  const pairs: [number, number][] = [];
  for (const item of line.slice(HISTOGRAM_MARK.length).trim().split(',')) {
    const match = /^(\d+):(\d+)$/.exec(item);
    if (match === null) return {};
    const count = Number(match[2]);
    if (count > 0) pairs.push([Number(match[1]), count]);
  }
  return pairs.length === 0 ? {} : { latencyHistogram: pairs.sort((a, b) => a[0] - b[0]) };
}

/** Negative values mean "not reported" (and wrk's empty histogram reports INT64_MIN as min). */
function wrkLatency(l: WrkSummary['latencyMicros']): ParsedRun['latency'] {
  const known = (v: number) => (v >= 0 ? v : null);
  return {
    minMicros: known(l.min),
    meanMicros: known(l.mean),
    stdevMicros: known(l.stdev),
    maxMicros: known(l.max),
    p50Micros: known(l.p50),
    p75Micros: known(l.p75),
    p90Micros: known(l.p90),
    p99Micros: known(l.p99),
    p999Micros: known(l.p999),
  };
}

function readSummary(text: string): WrkSummary | null {
  const line = text.split('\n').find((l) => l.startsWith(SUMMARY_MARK));
  if (line === undefined) return null;
  try {
    return JSON.parse(line.slice(SUMMARY_MARK.length)) as WrkSummary;
  } catch {
    return null;
  }
}

/** wrk's human summary, for output captured without the Lua script: rounded, no p99.9. */
function readText(text: string): WrkSummary | null {
  const done = /^\s*(\d+) requests in (\S+), (\S+) read$/m.exec(text);
  if (!done) return null;
  const durationMicros = parseDurationMicros(done[2] ?? '') ?? 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const latency = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)$`, 'm').exec(text);
    return m ? (parseDurationMicros(m[1] ?? '') ?? -1) : -1;
  };
  return {
    durationMicros,
    requests: Number(done[1]),
    bytes: parseSize(done[3] ?? ''),
    errors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      status: Number(non2xx?.[1] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
    latencyMicros: {
      min: -1,
      mean: parseDurationMicros(latency?.[1] ?? '') ?? -1,
      stdev: parseDurationMicros(latency?.[2] ?? '') ?? -1,
      max: parseDurationMicros(latency?.[3] ?? '') ?? -1,
      p50: pct('50'),
      p75: pct('75'),
      p90: pct('90'),
      p99: pct('99'),
      p999: -1,
    },
  };
}

/** wrk prints sizes in binary units: `70.57MB` is 70.57 × 2^20 bytes. */
function parseSize(text: string): number {
  const match = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text);
  if (!match) return 0;
  const power = ['B', 'KB', 'MB', 'GB', 'TB'].indexOf(match[2] ?? 'B');
  return Math.round(Number(match[1]) * 1024 ** power);
}
