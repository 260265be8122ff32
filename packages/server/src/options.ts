import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import {
  ACCEPT_MODES,
  type AcceptMode,
  choiceOption,
  intOption,
  RESOURCE_KINDS,
  type ResourceKind,
  SEND_MODES,
  SERVER_DEFAULT_BACKLOG,
  SERVER_ENGINES,
  type SendMode,
  type ServerEngine,
  UsageError,
} from '@scaleup/core';

export interface ServerOptions {
  port: number;
  host: string;
  workers: number;
  backlog: number;
  resource: ResourceKind;
  payloadBytes: number;
  /** The directory the file resource serves; undefined means a private temp dir with index.html. */
  root: string | undefined;
  silence: boolean;
  /** Seconds between stats lines and stats-file snapshots; 0 turns both off. */
  intervalSeconds: number;
  statsFile: string | undefined;
  accept: AcceptMode;
  send: SendMode;
  engine: ServerEngine;
  /** Workers run with --perf-basic-prof: /tmp/perf-<pid>.map names JavaScript frames for perf. */
  perfMap: boolean;
  headerTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
}

export const SERVER_DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  backlog: SERVER_DEFAULT_BACKLOG,
  resource: 'file',
  payloadBytes: 40,
  intervalSeconds: 5,
  accept: 'shared',
  send: 'auto',
  engine: 'net',
  headerTimeoutSeconds: 10,
  requestTimeoutSeconds: 30,
  keepAliveTimeoutSeconds: 75,
} as const;

export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
export const MAX_WORKERS = 256;

export const SERVER_USAGE = `usage: scaleup server [options]   (from the repo: pnpm server [options])

A master process owns one listening socket; worker processes accept on it directly
(--accept shared; see --accept for the others).

  --port N              TCP port (default 8080; 0 lets the kernel pick)
  --host ADDR           address to bind (default 0.0.0.0)
  --workers N           worker processes (default: available CPUs)
  --backlog N           listen backlog (default 8192; the kernel caps it at net.core.somaxconn)
  --resource KIND       file | data | fixed (default file)
                          file:  static files from --root (GET/HEAD, ranges, ETag, 304)
                          data:  --payload bytes from memory, Content-Type text/html
                          fixed: --payload bytes from memory, no Content-Type
  --payload BYTES       body size for data/fixed, and of the generated index.html (default 40)
  --root DIR            directory for --resource file (default: a temp dir with index.html
                        of --payload '*' bytes, removed at exit, or at the next start if
                        the master was killed)
  --accept MODE         shared | rr | reuseport (default shared)
                          shared:    workers accept on the master's socket (the seed's design)
                          rr:        the master accepts and hands connections round-robin
                          reuseport: each worker listens on its own SO_REUSEPORT socket and
                                     the kernel spreads connections over them; opened
                                     through the native addon (pnpm build:native), or
                                     net's reusePort on Node >= 22.12 without it
  --send MODE           auto | write (default auto)
                          auto:  responses of 4 KiB and more that are sent again and again
                                 (fixed, data, cached files) go out with sendfile(2) from memory
                                 when the native addon is built (pnpm build:native); else write
                          write: every response with write(2), as plain Node does
  --engine ENGINE       net | http (default net)
                          net:  scaleup's own HTTP/1.x loop on node:net (sendfile with --send)
                          http: a plain node:http server in every worker, as Node services
                                run under cluster or pm2; always write(2)
  --perf-basic-prof     workers run with node's --perf-basic-prof and write
                        /tmp/perf-<pid>.map, so perf names JavaScript frames (scaleup profile)
  --interval SECONDS    per-worker stats line and stats-file snapshot period (default 5; 0 = off)
  --silence             no per-worker stats lines
  --stats-file PATH     JSON stats (scaleup.server-stats/1), rewritten atomically
  --header-timeout S    seconds to receive a request head (default 10)
  --request-timeout S   seconds to receive a request body / make progress on a reply (default 30)
  --keepalive-timeout S seconds an idle keep-alive connection is kept (default 75)
  -h, --help            this text

Prints one 'scaleup server ready: ...' line once every worker listens; SIGINT/SIGTERM stop it
gracefully within 5 s once the workers listen; SIGUSR2 writes a fresh --stats-file snapshot
at once.`;

const OPTION_SPEC = {
  port: { type: 'string' },
  host: { type: 'string' },
  workers: { type: 'string' },
  backlog: { type: 'string' },
  resource: { type: 'string' },
  payload: { type: 'string' },
  root: { type: 'string' },
  silence: { type: 'boolean' },
  interval: { type: 'string' },
  'stats-file': { type: 'string' },
  accept: { type: 'string' },
  send: { type: 'string' },
  engine: { type: 'string' },
  'perf-basic-prof': { type: 'boolean' },
  'header-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'keepalive-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function secondsValue(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > 86_400) {
    throw new UsageError(`--${name} must be a number of seconds between ${min} and 86400, got '${value}'`);
  }
  return n;
}

/** Whether this Node has `net.Server.listen({ reusePort })`: 22.12+ on the 22 line, 23.1+. */
export function supportsReusePort(nodeVersion: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

/**
 * The `server` command's arguments, checked. Returns 'help' for -h/--help. Every problem is a
 * UsageError naming the option, raised before anything starts.
 */
export function parseServerArgs(argv: string[], environment: { cpus?: number } = {}): ServerOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTION_SPEC, strict: true, allowPositionals: false }));
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(message ?? 'invalid arguments');
  }
  if (values.help === true) return 'help';
  const str = (name: string): string | undefined => values[name] as string | undefined;

  const host = str('host') ?? SERVER_DEFAULTS.host;
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const resource = choiceOption(str('resource'), 'resource', RESOURCE_KINDS, SERVER_DEFAULTS.resource);
  const accept = choiceOption(str('accept'), 'accept', ACCEPT_MODES, SERVER_DEFAULTS.accept);
  const root = str('root');
  if (root !== undefined && resource !== 'file') {
    throw new UsageError(`--root only applies to --resource file, not ${resource}`);
  }
  if (root !== undefined && root.trim() === '') throw new UsageError('--root must not be empty');
  const statsFile = str('stats-file');
  if (statsFile !== undefined && statsFile.trim() === '')
    throw new UsageError('--stats-file must not be empty');

  const intervalSeconds = secondsValue(str('interval'), 'interval', SERVER_DEFAULTS.intervalSeconds, 0);
  if (intervalSeconds > 0 && intervalSeconds < 0.1)
    throw new UsageError('--interval must be 0 (off) or >= 0.1 seconds');

  return {
    port: intOption(str('port'), 'port', SERVER_DEFAULTS.port, 0, 65535),
    host,
    workers: intOption(
      str('workers'),
      'workers',
      Math.min(environment.cpus ?? availableParallelism(), MAX_WORKERS),
      1,
      MAX_WORKERS,
    ),
    backlog: intOption(str('backlog'), 'backlog', SERVER_DEFAULTS.backlog, 1, 2 ** 31 - 1),
    resource,
    payloadBytes: intOption(str('payload'), 'payload', SERVER_DEFAULTS.payloadBytes, 0, MAX_PAYLOAD_BYTES),
    root,
    silence: values.silence === true,
    intervalSeconds,
    statsFile,
    accept,
    send: choiceOption(str('send'), 'send', SEND_MODES, SERVER_DEFAULTS.send),
    engine: choiceOption(str('engine'), 'engine', SERVER_ENGINES, SERVER_DEFAULTS.engine),
    perfMap: values['perf-basic-prof'] === true,
    headerTimeoutSeconds: secondsValue(
      str('header-timeout'),
      'header-timeout',
      SERVER_DEFAULTS.headerTimeoutSeconds,
      0.05,
    ),
    requestTimeoutSeconds: secondsValue(
      str('request-timeout'),
      'request-timeout',
      SERVER_DEFAULTS.requestTimeoutSeconds,
      0.05,
    ),
    keepAliveTimeoutSeconds: secondsValue(
      str('keepalive-timeout'),
      'keepalive-timeout',
      SERVER_DEFAULTS.keepAliveTimeoutSeconds,
      0.05,
    ),
  };
}
