import { binaryCommand, type Detection, type LoadToolAdapter, parseWith } from '../adapter.ts';
import { probeOutput, whichOnPath } from '../detect.ts';
import {
  countBefore,
  countErrors,
  NO_LATENCY,
  type ParsedRun,
  type ParseOptions,
  unreadableRun,
} from '../result.ts';

const INSTALL =
  "not packaged by Debian: build lighttpd's weighttp from source (0.4 needs libev-dev; see its README) " +
  'and put it on PATH';

interface Counts {
  version: string;
  elapsedSeconds: number;
  total: number;
  started: number;
  /** weighttp's own counts: `succeeded` includes 3xx, `failed` includes `errored`. */
  succeeded: number;
  failed: number;
  errored: number;
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  bytesTotal: number;
  bytesHeaders: number;
  bytesBody: number;
  bodyBytesCover: 'succeeded' | 'responses';
}

/**
 * weighttp, the seed's tool: request-count mode only. Reads the legacy 0.4 text summary and the
 * JSON-style summary of 0.5. It prints req/s over every finished request, failures included, so
 * that figure is ignored.
 */
export const weighttp: LoadToolAdapter = {
  name: 'weighttp',

  async detect(): Promise<Detection> {
    const path = await whichOnPath('weighttp');
    if (path === null) return { found: false, reason: 'weighttp is not on PATH', install: INSTALL };
    const text = await probeOutput(path, ['-v']);
    const match = /weighttp (\d[\w.]*)/.exec(text) ?? /version:? (\S+)/i.exec(text);
    return { found: true, version: match?.[1] ?? 'unknown', path };
  },

  refuse(spec) {
    return spec.durationSeconds !== undefined
      ? ['weighttp has no duration mode: give a request count (-n) instead of -d']
      : [];
  },

  buildArgs(spec) {
    const args = [
      '-n',
      String(spec.requests ?? 0),
      '-c',
      String(spec.connections),
      '-t',
      String(spec.threads),
    ];
    if (spec.keepAlive) args.push('-k');
    // Only weighttp 0.5 knows -m; 0.4 sends GET only and refuses the switch.
    if (spec.method !== 'GET') args.push('-m', spec.method);
    for (const [name, value] of Object.entries(spec.headers)) args.push('-H', `${name}: ${value}`);
    args.push(spec.url);
    return args;
  },

  command: binaryCommand,

  parse: parseWith('weighttp', parseWeighttp),
};

function parseWeighttp(
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
  options: ParseOptions,
): ParsedRun {
  const text = `${stdout}\n${stderr}`;
  const counts = readJsonStyle(text) ?? readLegacy(text, options.toolVersion ?? '0.4');
  if (counts === null) {
    const toolError = text.split('\n').find((l) => /^error|failed|could not/i.test(l.trim()));
    const why = toolError
      ? `weighttp stopped without a summary: ${toolError.trim()}`
      : 'weighttp output has no summary (truncated: the tool was killed or died)';
    return unreadableRun('weighttp', options.toolVersion ?? '', why);
  }
  const errored = Math.min(counts.errored, counts.failed);
  // weighttp's successes include 3xx; 3xx responses are not successes here.
  const succeeded = Math.max(0, counts.succeeded - counts.status['3xx']);
  const failed = counts.failed - errored + (counts.succeeded - succeeded);
  const completed = exitCode === undefined || exitCode === null || exitCode === 0;
  const run: ParsedRun = {
    tool: 'weighttp',
    toolVersion: counts.version,
    elapsedSeconds: counts.elapsedSeconds,
    requests: { total: counts.total, started: counts.started, succeeded, failed, errored, timedOut: 0 },
    statusClasses: { '1xx': 0, ...counts.status },
    bytes: { total: counts.bytesTotal, headers: counts.bytesHeaders, body: counts.bytesBody },
    bodyBytesCover: counts.bodyBytesCover,
    wrongBodySize: null,
    latency: { ...NO_LATENCY },
    errors: [],
    completed,
  };
  if (!completed) run.errors.push(`weighttp exited with code ${exitCode}`);
  run.errors.push(...countErrors(run));
  return run;
}

/** weighttp 0.4: `finished in 12 sec, 156 millisec and 126 microsec, ...` and three count lines. */
function readLegacy(text: string, version: string): Counts | null {
  const finished = /finished in (\d+) sec, (\d+) millisec and (\d+) microsec/.exec(text);
  const requests = /^requests: .*$/m.exec(text)?.[0];
  const status = /^status codes: .*$/m.exec(text)?.[0];
  const traffic = /^traffic: .*$/m.exec(text)?.[0];
  if (!finished || !requests || !status || !traffic) return null;
  const n = (line: string, word: string) => countBefore(line, word) ?? 0;
  const bytes = (word: string) => Number(new RegExp(`(\\d+) bytes ${word}`).exec(traffic)?.[1] ?? 0);
  const micros = Number(finished[1]) * 1e6 + Number(finished[2]) * 1e3 + Number(finished[3]);
  return {
    version,
    elapsedSeconds: micros / 1e6,
    total: n(requests, 'total'),
    started: n(requests, 'started'),
    succeeded: n(requests, 'succeeded'),
    failed: n(requests, 'failed'),
    errored: n(requests, 'errored'),
    status: {
      '2xx': n(status, '2xx'),
      '3xx': n(status, '3xx'),
      '4xx': n(status, '4xx'),
      '5xx': n(status, '5xx'),
    },
    bytesTotal: bytes('total'),
    bytesHeaders: bytes('http'),
    bytesBody: bytes('data'),
    // 0.4 adds a response's body bytes to `data` only when it succeeded.
    bodyBytesCover: 'succeeded',
  };
}

interface JsonStyle {
  secs_elapsed: number;
  request_counts: { started: number; retired: number; total?: number };
  response_counts: { pass: number; fail: number; errs: number };
  status_codes: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  traffic: { bytes_total: number; bytes_headers: number; bytes_body: number };
}

/** weighttp 0.5 prints a JSON object after the progress lines. */
function readJsonStyle(text: string): Counts | null {
  const start = text.search(/^\{\s*$/m);
  if (start < 0) return null;
  const end = text.lastIndexOf('}');
  let parsed: JsonStyle;
  try {
    parsed = JSON.parse(text.slice(start, end + 1)) as JsonStyle;
  } catch {
    return null;
  }
  if (!parsed.response_counts || !parsed.traffic || !parsed.request_counts || !parsed.status_codes)
    return null;
  const version = /weighttp (\d[\w.]*)/.exec(text)?.[1] ?? '0.5';
  return {
    version,
    elapsedSeconds: parsed.secs_elapsed,
    // Older 0.5 builds print no total; then every started request was asked for.
    total: parsed.request_counts.total ?? parsed.request_counts.started,
    started: parsed.request_counts.started,
    succeeded: parsed.response_counts.pass,
    failed: parsed.response_counts.fail,
    // `fail` counts non-2xx responses and requests that got none; 0.5 builds leave `errs` at 0
    // (weighttp_report never sums it), so what `fail` holds beyond 4xx and 5xx had no response.
    errored: Math.max(
      parsed.response_counts.errs,
      parsed.response_counts.fail - parsed.status_codes['4xx'] - parsed.status_codes['5xx'],
    ),
    status: parsed.status_codes,
    bytesTotal: parsed.traffic.bytes_total,
    bytesHeaders: parsed.traffic.bytes_headers,
    bytesBody: parsed.traffic.bytes_body,
    // 0.5 reports body bytes as total minus headers, over every response.
    bodyBytesCover: 'responses',
  };
}
