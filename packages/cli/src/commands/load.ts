import { readFile } from 'node:fs/promises';
import {
  type InlineLoadReport,
  LOAD_READY_LINE,
  type LoadResult,
  type LoadSpecInput,
  UsageError,
} from '@scaleup/core';
import { parseCpuList } from '@scaleup/core/io';
import {
  adapterFor,
  defaultTool,
  detectTools,
  loadProblems,
  prepareLoad,
  runLoad,
  toolNamed,
} from '@scaleup/driver';
import { intOption, numberOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const RUN_HELP = `usage: pnpm load [options] URL          run one bounded load and print what it measured
       pnpm load parse --tool TOOL FILE    read a tool's captured output (weighttp, h2load, wrk, autocannon)
       pnpm load tools                     list the load tools found here and how to install the others

options:
  --tool NAME           h2load, wrk, autocannon, weighttp or openloop (default: openloop with --rate,
                        else h2load if installed, else autocannon)
  -n, --requests N      fixed-count mode: N requests in all
  -d, --duration S      duration mode: S seconds (exactly one of -n and -d)
  --rate R              open loop: offer R requests per second at fixed intended times whatever the
                        server does, each latency measured from its intended send time (openloop,
                        built by setup; needs -d; keep-alive, as with -k); without it every tool
                        runs closed loop
  -c, --connections N   concurrent connections (default 10); with --rate a lower bound: more are
                        opened whenever a request finds every connection busy
  --max-connections N   with --rate: the bound on connections (default 10000); requests then wait,
                        and the result says how many
  -t, --threads N       tool threads, autocannon workers (default 1)
  -k, --keep-alive      keep connections open between requests
  -H, --header 'N: v'   add a request header (repeatable)
  --method M            request method (default GET)
  --cpus LIST           pin the tool to these CPUs, e.g. 1 or 0-1
  --timeout S           kill the tool after S seconds (default 30, or duration + 10)
  --expect-bytes N      a response whose body is not N bytes long is a failure
  --max-failed PCT      failed or errored requests tolerated before the exit code is 1 (default 0)
  --allow-target ADDR   also load ADDR, a server host you run (repeatable)
  --barrier             get ready, print '${LOAD_READY_LINE}' on stderr, and start only on a 'go' line on
                        stdin (how several load hosts start together); stdin closing stops the tool
  --raw-out PATH        keep the tool's raw output in PATH
  --json                print the LoadResult as JSON on stdout, nothing else
  --raw-inline          with --json: print { "result", "rawOutput" } and write no file (what load
                        hosts run, so nothing of the run stays on them)
Only http:// URLs on loopback (127.0.0.0/8, ::1, localhost), the benchmark network 198.18.0.0/15
or an --allow-target address are loaded.
Exit code: 0 for a clean run; 1 when it did not complete, nothing succeeded, or failures exceed
--max-failed (each reason on a '!' line); 2 for bad input.`;

/**
 * The barrier: ready once the tool is found and the spec accepted, then wait for 'go'. stdin
 * closing (the harness gone, the connection dropped) before or during the run stops everything.
 */
function barrier(controller: AbortController): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let going = false;
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      buffered += chunk;
      if (!going && /(^|\n)go\n/.test(buffered)) {
        going = true;
        resolve();
      }
    });
    process.stdin.on('end', () => {
      controller.abort('stdin closed');
      if (!going) reject(new UsageError('stdin closed before the go signal: not started'));
    });
    process.stderr.write(`${LOAD_READY_LINE}\n`);
  });
}

const PARSE_HELP = `usage: pnpm load parse --tool TOOL FILE [--expect-bytes N] [--max-failed PCT] [--json]
Reads the output of a load run captured by hand (stdout, or stdout and stderr together) and prints
the numbers it holds, counted as the driver counts them. Exit code 1, with a '!' line per reason,
when the capture is incomplete, nothing succeeded, or failures exceed --max-failed (default 0).`;

const TOOLS_HELP = `usage: pnpm load tools [--json]
Lists each load tool with its version when found, or why not and what to install.`;

function headersFrom(values: string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const raw of values ?? []) {
    const colon = raw.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must look like 'Name: value', got '${raw}'`);
    headers[raw.slice(0, colon).trim()] = raw.slice(colon + 1).trim();
  }
  return headers;
}

function cpusFrom(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value))
    throw new UsageError(`--cpus must be a CPU list such as 1 or 0-1, got '${value}'`);
  return parseCpuList(value);
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const micros = (us: number | null) =>
  us === null ? '-' : us >= 1000 ? `${fmt(us / 1000, 2)} ms` : `${fmt(us)} us`;

/** The result in a few lines a person can read. */
export function formatLoadResult(result: LoadResult): string {
  const r = result.requests;
  const s = result.statusClasses;
  const l = result.latency;
  const lines = [
    `${result.tool} ${result.toolVersion}${result.completed ? '' : '  (INCOMPLETE)'}`,
    `elapsed       ${fmt(result.elapsedSeconds, 3)} s`,
    `requests      ${fmt(r.done)} done: ${fmt(r.succeeded)} succeeded, ${fmt(r.failed)} failed, ${fmt(r.errored)} errored` +
      `${r.timedOut > 0 ? ` (${fmt(r.timedOut)} timed out)` : ''}`,
    `status        ${fmt(s['2xx'])} 2xx, ${fmt(s['3xx'])} 3xx, ${fmt(s['4xx'])} 4xx, ${fmt(s['5xx'])} 5xx`,
    `traffic       ${fmt(result.bytes.total)} bytes` +
      (result.bytes.body !== null
        ? ` (${fmt(result.bytes.body)} body, ${fmt(result.bytes.headers ?? 0)} headers)`
        : ''),
    `throughput    ${fmt(result.requestsPerSecond)} succeeded responses/s, ${fmt(result.megabytesPerSecond, 2)} MB/s`,
    `latency       mean ${micros(l.meanMicros)}, p50 ${micros(l.p50Micros)}, p99 ${micros(l.p99Micros)}, max ${micros(l.maxMicros)}` +
      (l.measuredFrom === 'intended-send' ? ' (from the intended send times)' : ''),
  ];
  const o = result.openLoop;
  if (o !== undefined) {
    lines.push(
      `open loop     offered ${fmt(o.offeredPerSecond, 1)}/s, achieved ${fmt(o.achievedPerSecond, 1)}/s; ` +
        `${fmt(o.lateSends)} of ${fmt(o.planned)} sends late (> ${fmt(o.lateBoundMicros)} us); ` +
        `${fmt(o.connectionsPeak)} connections at most (limit ${fmt(o.connectionLimit)})`,
    );
  }
  if (result.toolCpu !== null) {
    const c = result.toolCpu;
    lines.push(
      `tool cpu      ${fmt(c.userSeconds, 2)} s user + ${fmt(c.systemSeconds, 2)} s system, ` +
        `${fmt(c.utilisation * 100, 0)}% of ${c.cores} core${c.cores === 1 ? '' : 's'}`,
    );
  }
  if (result.rawOutputPath !== null) lines.push(`raw output    ${result.rawOutputPath}`);
  for (const error of result.errors) lines.push(`! ${error}`);
  return lines.join('\n');
}

function print(result: LoadResult, json: boolean, maxFailedPercent: number, rawOutput?: string): number {
  const problems = loadProblems(result, maxFailedPercent);
  const document: LoadResult | InlineLoadReport = rawOutput === undefined ? result : { result, rawOutput };
  if (json) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else {
    const lines = [formatLoadResult(result), ...problems.map((p) => `! ${p}`)];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  // With --json stdout stays one document; the reasons still reach a person on stderr.
  if (json) for (const p of problems) process.stderr.write(`! ${p}\n`);
  return problems.length === 0 ? 0 : 1;
}

function maxFailedOf(value: string | undefined): number {
  const n = numberOption(value, 'max-failed', 0, 0);
  if (n > 100) throw new UsageError(`--max-failed is a percentage (0-100), got ${n}`);
  return n;
}

async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      tool: { type: 'string' },
      requests: { type: 'string', short: 'n' },
      duration: { type: 'string', short: 'd' },
      rate: { type: 'string' },
      'max-connections': { type: 'string' },
      connections: { type: 'string', short: 'c' },
      threads: { type: 'string', short: 't' },
      'keep-alive': { type: 'boolean', short: 'k' },
      header: { type: 'string', short: 'H', multiple: true },
      method: { type: 'string' },
      cpus: { type: 'string' },
      timeout: { type: 'string' },
      'expect-bytes': { type: 'string' },
      'raw-out': { type: 'string' },
      'raw-inline': { type: 'boolean' },
      'max-failed': { type: 'string' },
      'allow-target': { type: 'string', multiple: true },
      barrier: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one URL (see pnpm load --help)');
  const durationSeconds =
    values.duration === undefined ? undefined : numberOption(values.duration, 'duration', 0, 0.001);
  const spec: LoadSpecInput = {
    url: positionals[0] ?? '',
    requests: values.requests === undefined ? undefined : intOption(values.requests, 'requests', 0, 1),
    durationSeconds,
    connections: intOption(values.connections, 'connections', 10, 1),
    threads: intOption(values.threads, 'threads', 1, 1),
    // The open-loop tool is a keep-alive tool: a request per connection would measure connects.
    keepAlive: values['keep-alive'] ?? values.rate !== undefined,
    method: (values.method ?? 'GET').toUpperCase(),
    headers: headersFrom(values.header),
    timeoutSeconds: numberOption(values.timeout, 'timeout', Math.max(30, (durationSeconds ?? 0) + 10), 0.001),
    cpus: cpusFrom(values.cpus),
    expectedBodyBytes:
      values['expect-bytes'] === undefined ? undefined : intOption(values['expect-bytes'], 'expect-bytes', 0),
    ...(values['allow-target'] === undefined ? {} : { allowedTargets: values['allow-target'] }),
    ...(values.rate === undefined ? {} : { ratePerSecond: numberOption(values.rate, 'rate', 0, 0.001) }),
    ...(values['max-connections'] === undefined
      ? {}
      : { maxConnections: intOption(values['max-connections'], 'max-connections', 1, 1) }),
  };
  const maxFailed = maxFailedOf(values['max-failed']);
  const rawInline = values['raw-inline'] ?? false;
  if (rawInline && !values.json) throw new UsageError('--raw-inline needs --json');
  if (rawInline && values['raw-out']) throw new UsageError('give --raw-inline or --raw-out, not both');
  const tool =
    values.tool !== undefined
      ? toolNamed(values.tool)
      : values.rate !== undefined
        ? 'openloop'
        : await defaultTool();
  const controller = new AbortController();
  if (values.barrier) {
    // Everything that can refuse the run is checked before saying ready.
    prepareLoad(spec, tool);
    const detection = await adapterFor(tool).detect();
    if (!detection.found) throw new UsageError(`${detection.reason}; to install: ${detection.install}`);
    await barrier(controller);
  }
  let rawOutput = '';
  const result = await runLoad(spec, {
    tool,
    signal: controller.signal,
    ...(values['raw-out'] ? { rawOutputPath: values['raw-out'] } : {}),
    onRawOutput: (raw) => {
      rawOutput = raw;
    },
  });
  if (values.barrier) process.stdin.destroy();
  return print(result, values.json ?? false, maxFailed, rawInline ? rawOutput : undefined);
}

async function parseCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      tool: { type: 'string' },
      'expect-bytes': { type: 'string' },
      'max-failed': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${PARSE_HELP}\n`);
    return 0;
  }
  if (values.tool === undefined) throw new UsageError('give --tool (weighttp, h2load, wrk or autocannon)');
  if (positionals.length !== 1) throw new UsageError('give exactly one captured output FILE');
  const file = positionals[0] ?? '';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read '${file}': ${error instanceof Error ? error.message : String(error)}`);
  }
  const expected = values['expect-bytes'];
  const maxFailed = maxFailedOf(values['max-failed']);
  const result = adapterFor(toolNamed(values.tool)).parse(text, '', undefined, {
    ...(expected !== undefined ? { expectedBodyBytes: intOption(expected, 'expect-bytes', 0) } : {}),
  });
  return print({ ...result, rawOutputPath: file }, values.json ?? false, maxFailed);
}

async function toolsCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${TOOLS_HELP}\n`);
    return 0;
  }
  const tools = await detectTools();
  const fallback = await defaultTool();
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ default: fallback, tools }, null, 2)}\n`);
    return 0;
  }
  for (const { tool, detection } of tools) {
    const mark = tool === fallback ? ' (default)' : '';
    process.stdout.write(
      detection.found
        ? `${tool.padEnd(10)}  ${detection.version}${mark}  ${detection.path}\n`
        : `${tool.padEnd(10)}  missing: ${detection.reason}; install: ${detection.install}\n`,
    );
  }
  return 0;
}

export const loadCommand: Command = {
  name: 'load',
  async run(argv) {
    const [first, ...rest] = argv;
    if (first === 'parse') return parseCommand(rest);
    if (first === 'tools') return toolsCommand(rest);
    return runCommand(argv);
  },
};
