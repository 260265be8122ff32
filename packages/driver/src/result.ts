import type { Latency, LoadResult, LoadToolName, OpenLoop } from '@scaleup/core';

/** What an adapter read from a tool's output, before the driver's common rules apply. */
export interface ParsedRun {
  tool: LoadToolName;
  toolVersion: string;
  elapsedSeconds: number;
  requests: {
    total: number;
    started: number;
    /** Complete responses with a 2xx status. */
    succeeded: number;
    /** Complete responses that are not a success (non-2xx status). */
    failed: number;
    /** Requests that ended without a complete response: connection errors, resets, timeouts. */
    errored: number;
    timedOut: number;
  };
  statusClasses: LoadResult['statusClasses'];
  bytes: LoadResult['bytes'];
  /**
   * What `bytes.body` covers, which decides how a body size can be checked: 'succeeded' (weighttp
   * counts bodies of successes only), 'responses' (every complete response; h2load), or null when
   * the tool does not count body bytes (wrk, autocannon).
   */
  bodyBytesCover: 'succeeded' | 'responses' | null;
  /** Complete responses whose body size the tool itself found wrong (autocannon's verifyBody). */
  wrongBodySize: number | null;
  latency: Latency;
  /** [microseconds, count] pairs, ascending, when the tool printed its whole distribution. */
  latencyHistogram?: [number, number][];
  /** Open-loop tools: the schedule's figures; finishResult adds achievedPerSecond. */
  openLoop?: Omit<OpenLoop, 'achievedPerSecond'>;
  errors: string[];
  completed: boolean;
}

export interface ParseOptions {
  /** The argument array the tool ran with, recorded in the result. */
  argv?: string[];
  /** Used when the output does not name the tool's version. */
  toolVersion?: string;
  /** Body size every succeeded response must have (spec.expectedBodyBytes). */
  expectedBodyBytes?: number | undefined;
  /**
   * Responses that may have been cut off when a duration-mode run ended: the tool counts their
   * partial bodies in its byte total although they never completed. 0 (exact) in count mode.
   */
  inFlightResponses?: number | undefined;
}

export const NO_LATENCY: Latency = {
  minMicros: null,
  meanMicros: null,
  stdevMicros: null,
  maxMicros: null,
  p50Micros: null,
  p75Micros: null,
  p90Micros: null,
  p99Micros: null,
  p999Micros: null,
};

export const NO_STATUS: LoadResult['statusClasses'] = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };

/** A result for output that could not be read at all: nothing is claimed, and it says why. */
export function unreadableRun(tool: LoadToolName, toolVersion: string, why: string): ParsedRun {
  return {
    tool,
    toolVersion,
    elapsedSeconds: 0,
    requests: { total: 0, started: 0, succeeded: 0, failed: 0, errored: 0, timedOut: 0 },
    statusClasses: { ...NO_STATUS },
    bytes: { total: 0, headers: null, body: null },
    bodyBytesCover: null,
    wrongBodySize: null,
    latency: { ...NO_LATENCY },
    errors: [why],
    completed: false,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The rules every adapter shares, in one place:
 * - `done = succeeded + failed + errored`, whatever the tool calls done;
 * - a body of the wrong size turns a success into a failure; where the tool only reports a sum
 *   of body bytes it cannot say which response was wrong, so then no response counts as succeeded;
 * - `requestsPerSecond = succeeded / elapsedSeconds`, never the tool's own figure (weighttp divides
 *   every finished request, failures included);
 * - `megabytesPerSecond` = bytes of succeeded responses (status line, headers and body, as read
 *   from the socket) / elapsedSeconds / 10^6. Tools count bytes over all responses, so the bytes of
 *   succeeded responses are `bytes.total × succeeded / (succeeded + failed)`: exact when every
 *   response succeeded (the benchmark case), a pro-rata estimate otherwise.
 */
export function finishResult(run: ParsedRun, options: ParseOptions = {}): LoadResult {
  const errors = [...run.errors];
  let { succeeded, failed } = run.requests;
  const { errored, timedOut } = run.requests;
  const expected = options.expectedBodyBytes;

  if (expected !== undefined && succeeded > 0) {
    if (run.wrongBodySize !== null) {
      const wrong = Math.min(run.wrongBodySize, succeeded);
      if (wrong > 0) {
        succeeded -= wrong;
        failed += wrong;
        errors.push(`${plural(wrong, 'response')} had a body that is not ${expected} bytes long`);
      }
    } else if (run.bodyBytesCover !== null && run.bytes.body !== null) {
      const responses = run.bodyBytesCover === 'succeeded' ? succeeded : succeeded + failed;
      if (run.bodyBytesCover === 'responses' && failed > 0) {
        errors.push(`body size not checked: ${run.tool} sums body bytes over failed responses too`);
      } else if (!bodyBytesFit(run.bytes.body, responses, expected, options.inFlightResponses ?? 0)) {
        const perResponse = Math.round((run.bytes.body / responses) * 100) / 100;
        errors.push(
          `body bytes do not match the expected ${expected} per response: ${run.bytes.body} bytes over ` +
            `${plural(responses, 'response')} (${perResponse} each); the tool cannot say which were wrong, ` +
            'so none counts as succeeded',
        );
        failed += succeeded;
        succeeded = 0;
      }
    }
  }

  const done = succeeded + failed + errored;
  if (run.completed && done === 0) errors.push('no request got an answer');
  const elapsed = run.elapsedSeconds;
  const responses = succeeded + failed;
  const succeededBytes = responses === 0 ? 0 : (run.bytes.total * succeeded) / responses;
  const requestsPerSecond = elapsed > 0 ? succeeded / elapsed : 0;
  return {
    tool: run.tool,
    toolVersion: run.toolVersion || options.toolVersion || 'unknown',
    argv: options.argv ?? [],
    elapsedSeconds: elapsed,
    requests: {
      total: run.requests.total,
      started: run.requests.started,
      done,
      succeeded,
      failed,
      errored,
      timedOut,
    },
    statusClasses: run.statusClasses,
    bytes: run.bytes,
    requestsPerSecond,
    megabytesPerSecond: elapsed > 0 ? succeededBytes / elapsed / 1e6 : 0,
    latency: run.latency,
    ...(run.latencyHistogram === undefined ? {} : { latencyHistogram: run.latencyHistogram }),
    ...(run.openLoop === undefined
      ? {}
      : { openLoop: { ...run.openLoop, achievedPerSecond: requestsPerSecond } }),
    toolCpu: null,
    errors,
    notes: [],
    completed: run.completed,
    rawOutputPath: null,
  };
}

/**
 * Whether a tool's body byte total fits `responses` bodies of `expected` bytes. In duration mode
 * up to one more body per connection may be counted too: h2load counts the bytes of responses
 * still in flight when the time is up (seen here: exactly connections x payload extra).
 */
export function bodyBytesFit(
  bodyBytes: number,
  responses: number,
  expected: number,
  inFlight: number,
): boolean {
  const exact = responses * expected;
  if (inFlight === 0 || expected === 0) return bodyBytes === exact;
  return bodyBytes >= exact && bodyBytes <= exact + inFlight * expected;
}

/** The usual lines for non-2xx responses and errored requests, so `errors` says what went wrong. */
export function countErrors(run: Pick<ParsedRun, 'statusClasses' | 'requests'>): string[] {
  const lines: string[] = [];
  for (const cls of ['1xx', '3xx', '4xx', '5xx'] as const) {
    const n = run.statusClasses[cls];
    if (n > 0) lines.push(`${plural(n, 'response')} with status ${cls}`);
  }
  const { errored, timedOut } = run.requests;
  if (errored > 0) {
    const timeouts = timedOut > 0 ? ` (${timedOut} timed out)` : '';
    lines.push(`${plural(errored, 'request')} errored: no complete response${timeouts}`);
  }
  return lines;
}

/** Microseconds from a duration such as `1.66ms`, `43us`, `2.00s` (h2load and wrk units). */
export function parseDurationMicros(text: string): number | null {
  const match = /^(-?[\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]);
  const scale = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 }[match[2] as 'us' | 'ms' | 's' | 'm' | 'h'];
  return Number.isFinite(value) ? Math.round(value * scale * 1000) / 1000 : null;
}

/** A whole-number field from a `label: 1 a, 2 b` style line: the number before `word`. */
export function countBefore(line: string, word: string): number | null {
  const match = new RegExp(`(\\d+) ${word}\\b`).exec(line);
  return match ? Number(match[1]) : null;
}

/**
 * Whether a run (or a capture) counts as a clean measurement, with a `!` line per reason: it did
 * not finish, an open-loop tool fell behind its schedule (openLoopBehind), nothing succeeded (a closed port errors every request without a status code, which
 * must fail exactly as an all-404 run does), or failures exceed `maxFailedPercent` of what finished.
 */
export function loadProblems(result: LoadResult, maxFailedPercent = 0): string[] {
  const problems: string[] = [];
  const r = result.requests;
  if (!result.completed) problems.push('the tool did not finish or its output was incomplete');
  const behind = openLoopBehind(result.openLoop);
  if (behind !== null) problems.push(behind);
  if (r.succeeded === 0) {
    problems.push(
      `no successful response: ${r.done} finished, ${r.failed} failed, ${r.errored} errored` +
        `${r.timedOut > 0 ? ` (${r.timedOut} timed out)` : ''}`,
    );
  } else {
    const bad = r.failed + r.errored;
    const share = r.done === 0 ? 0 : (100 * bad) / r.done;
    if (bad > 0 && share > maxFailedPercent) {
      problems.push(
        `${bad} of ${r.done} requests failed or errored (${share.toFixed(share < 1 ? 2 : 1)}%), above the ${maxFailedPercent}% allowed`,
      );
    }
  }
  return problems;
}

/**
 * Share of an open-loop run's sends that may be late (noticed past the tool's bound after their
 * intended time) before the run says more about the load tool than about the server.
 */
export const MAX_LATE_SEND_SHARE = 0.01;

/** Why an open-loop run cannot be trusted because the tool fell behind its schedule, or null. */
export function openLoopBehind(openLoop: OpenLoop | undefined): string | null {
  if (openLoop === undefined || openLoop.planned === 0) return null;
  const share = openLoop.lateSends / openLoop.planned;
  if (share <= MAX_LATE_SEND_SHARE) return null;
  return (
    `the load tool fell behind its schedule: ${openLoop.lateSends} of ${openLoop.planned} sends ` +
    `(${(share * 100).toFixed(1)}%) went out more than ${openLoop.lateBoundMicros} us late (at most ` +
    `${MAX_LATE_SEND_SHARE * 100}% may), so the latencies charge the tool's delay to the server; ` +
    'offer a lower rate or give the tool more CPUs'
  );
}
