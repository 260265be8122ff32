import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { LoadSpec } from '@scaleup/core';
import { type Detection, type LoadToolAdapter, parseWith, type ToolCommand } from '../adapter.ts';
import { countErrors, NO_LATENCY, type ParsedRun, type ParseOptions, unreadableRun } from '../result.ts';

const RESULT_MARK = 'SCALEUP_AUTOCANNON_RESULT ';
/** Runs autocannon in a process of its own; see the script for why. */
export const AUTOCANNON_CHILD = fileURLToPath(new URL('./autocannon-child.mjs', import.meta.url));
const VERIFY_BODY = fileURLToPath(new URL('./autocannon-verify-body.cjs', import.meta.url));
/**
 * autocannon only stops at a sampling tick, so its elapsed time overshoots by up to one
 * interval: 20 ms instead of its default second keeps that small for short runs.
 */
const SAMPLE_INTERVAL_MS = 20;

/** The fields the child prints; also those of `autocannon --json` output, which parse accepts. */
interface AutocannonSummary {
  autocannonVersion?: string;
  elapsedMillis?: number;
  start?: string;
  finish?: string;
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  resets?: number;
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  requests: { total: number; sent: number };
  throughput: { total: number };
  latencyMillis?: Record<'min' | 'max' | 'mean' | 'stddev' | 'p50' | 'p75' | 'p90' | 'p99' | 'p999', number>;
  latency?: Record<string, number>;
  latencyHistogramMicros?: [number, number][];
}

function autocannonVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('autocannon/package.json') as { version: string }).version;
}

/** The options the child hands to autocannon's JavaScript API. */
export function autocannonOptions(spec: LoadSpec): Record<string, unknown> {
  return {
    url: spec.url,
    connections: spec.connections,
    ...(spec.requests !== undefined ? { amount: spec.requests } : { duration: spec.durationSeconds }),
    ...(spec.threads > 1 ? { workers: spec.threads } : {}),
    method: spec.method,
    headers: spec.headers,
    sampleInt: SAMPLE_INTERVAL_MS,
    ...(spec.expectedBodyBytes !== undefined ? { verifyBody: VERIFY_BODY } : {}),
  };
}

/**
 * autocannon (npm), always available. Driven through its JavaScript API in a child Node process
 * so it can be pinned, killed and measured like a native tool. Latencies have millisecond
 * resolution; it does not count header and body bytes apart, but checks each body's size itself.
 */
export const autocannon: LoadToolAdapter = {
  name: 'autocannon',

  async detect(): Promise<Detection> {
    try {
      return { found: true, version: autocannonVersion(), path: AUTOCANNON_CHILD };
    } catch (error) {
      return {
        found: false,
        reason: `autocannon is not installed: ${error instanceof Error ? error.message : String(error)}`,
        install: 'pnpm install (autocannon is a dependency of @scaleup/driver)',
      };
    }
  },

  refuse(spec) {
    const problems: string[] = [];
    if (!spec.keepAlive) {
      // With `Connection: close` autocannon 8 loses about half the requests of a count run.
      problems.push('autocannon always keeps connections alive: add -k (keep-alive), or use h2load or wrk');
    }
    if (spec.threads > 1) {
      // autocannon gives each worker floor(n / workers) connections and requests.
      if (spec.connections % spec.threads !== 0) {
        problems.push(
          `autocannon splits connections evenly over workers: make -c a multiple of -t (${spec.threads})`,
        );
      }
      if (spec.requests !== undefined && spec.requests % spec.threads !== 0) {
        problems.push(
          `autocannon splits requests evenly over workers: make -n a multiple of -t (${spec.threads})`,
        );
      }
    }
    return problems;
  },

  buildArgs(spec) {
    return [AUTOCANNON_CHILD, JSON.stringify(autocannonOptions(spec))];
  },

  command(spec): ToolCommand {
    return {
      file: process.execPath,
      args: this.buildArgs(spec),
      ...(spec.expectedBodyBytes !== undefined
        ? { env: { SCALEUP_EXPECT_BODY_BYTES: String(spec.expectedBodyBytes) } }
        : {}),
    };
  },

  parse: parseWith('autocannon', parseAutocannon),
};

function readSummary(text: string): AutocannonSummary | null {
  for (const line of text.split('\n').reverse()) {
    const json = line.startsWith(RESULT_MARK)
      ? line.slice(RESULT_MARK.length)
      : line.startsWith('{')
        ? line
        : null;
    if (json === null) continue;
    try {
      const parsed = JSON.parse(json) as AutocannonSummary;
      if (parsed.requests && parsed.throughput) return parsed;
    } catch {
      // Not the summary line.
    }
  }
  return null;
}

function parseAutocannon(
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
  options: ParseOptions,
): ParsedRun {
  const text = `${stdout}\n${stderr}`;
  const summary = readSummary(text);
  const version = summary?.autocannonVersion ?? options.toolVersion ?? '';
  if (summary === null) {
    const toolError = text.split('\n').find((l) => l.startsWith('autocannon:'));
    return unreadableRun(
      'autocannon',
      version,
      toolError ?? 'autocannon output has no summary (truncated: the tool was killed or died)',
    );
  }
  const elapsedMillis =
    summary.elapsedMillis ??
    (summary.start && summary.finish
      ? new Date(summary.finish).getTime() - new Date(summary.start).getTime()
      : summary.duration * 1000);
  const complete = summary.requests.total;
  const succeeded = summary['2xx'];
  const completed = exitCode === undefined || exitCode === null || exitCode === 0;
  const run: ParsedRun = {
    tool: 'autocannon',
    toolVersion: version,
    elapsedSeconds: elapsedMillis / 1000,
    requests: {
      total: summary.requests.sent,
      started: summary.requests.sent,
      succeeded,
      failed: Math.max(0, complete - succeeded),
      // Counts events: a refused connection retried many times is many errors.
      errored: summary.errors,
      timedOut: summary.timeouts,
    },
    statusClasses: {
      '1xx': summary['1xx'],
      '2xx': summary['2xx'],
      '3xx': summary['3xx'],
      '4xx': summary['4xx'],
      '5xx': summary['5xx'],
    },
    bytes: { total: summary.throughput.total, headers: null, body: null },
    bodyBytesCover: null,
    // autocannon checks every body itself (verifyBody); a mismatch is among the 2xx only when
    // no other response arrived, otherwise this undercounts successes, which errs on the safe side.
    wrongBodySize: summary.mismatches,
    latency: complete === 0 ? { ...NO_LATENCY } : latencyMicros(summary),
    ...(summary.latencyHistogramMicros !== undefined && summary.latencyHistogramMicros.length > 0
      ? { latencyHistogram: summary.latencyHistogramMicros }
      : {}),
    errors: [],
    completed,
  };
  if (!completed) run.errors.push(`autocannon exited with code ${exitCode}`);
  run.errors.push(...countErrors(run));
  if ((summary.resets ?? 0) > 0) run.errors.push(`${summary.resets} connection resets`);
  return run;
}

function latencyMicros(summary: AutocannonSummary): ParsedRun['latency'] {
  const ms = summary.latencyMillis ?? {
    min: summary.latency?.min ?? Number.NaN,
    max: summary.latency?.max ?? Number.NaN,
    mean: summary.latency?.average ?? Number.NaN,
    stddev: summary.latency?.stddev ?? Number.NaN,
    p50: summary.latency?.p50 ?? Number.NaN,
    p75: summary.latency?.p75 ?? Number.NaN,
    p90: summary.latency?.p90 ?? Number.NaN,
    p99: summary.latency?.p99 ?? Number.NaN,
    p999: summary.latency?.p99_9 ?? Number.NaN,
  };
  const us = (v: number) => (Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null);
  return {
    minMicros: us(ms.min),
    meanMicros: us(ms.mean),
    stdevMicros: us(ms.stddev),
    maxMicros: us(ms.max),
    p50Micros: us(ms.p50),
    p75Micros: us(ms.p75),
    p90Micros: us(ms.p90),
    p99Micros: us(ms.p99),
    p999Micros: us(ms.p999),
  };
}
