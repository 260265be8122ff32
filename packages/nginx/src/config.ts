import { isAbsolute, join } from 'node:path';
import { UsageError } from '@scaleup/core';

export const NGINX_PRESETS = ['stock', 'tuned'] as const;
export type NginxPreset = (typeof NGINX_PRESETS)[number];

/** nginx's own listen backlog on Linux (NGX_LISTEN_BACKLOG), which Debian's config keeps. */
export const DEFAULT_BACKLOG = 511;
/** The seed ran nginx at this concurrency (it reset connections at 4000). */
export const DEFAULT_CONNECTIONS = 1000;
/** Headroom for the listening sockets and connections nginx counts while they close. */
const CONNECTION_MARGIN = 64;
/** Below this nginx gains nothing from a smaller table; it is also nginx's documented example value. */
const MIN_WORKER_CONNECTIONS = 1024;
const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;

export interface NginxConfigOptions {
  /** Absolute directory nginx runs in; every path in the config lives below it. */
  prefix: string;
  port: number;
  /** Default 127.0.0.1. An IPv6 address is written in brackets. */
  host?: string | undefined;
  /** Size of index.html in bytes of `*`, as the seed made it. */
  payloadBytes: number;
  /** worker_processes: the same count as the server nginx is compared with. */
  workers: number;
  /** Concurrent client connections the run will open; sizes worker_connections. Default 1000. */
  connections?: number | undefined;
  /** listen backlog=; the kernel caps it at net.core.somaxconn. Default 511. */
  backlog?: number | undefined;
  /** Default 'stock'. */
  preset?: NginxPreset | undefined;
  /** One listening socket per worker (SO_REUSEPORT). Default false, as in the seed. */
  reuseport?: boolean | undefined;
  /**
   * Account the workers switch to. Only meaningful when the master runs as root: nginx warns
   * and ignores the directive otherwise, so callers pass it only then.
   */
  user?: { name: string; group: string } | undefined;
  /** Hard RLIMIT_NOFILE of the process that will start nginx; worker_rlimit_nofile stays below it. */
  nofileLimit?: number | undefined;
  /** CPUs the whole process tree is pinned to with taskset (applied by startNginx, recorded here). */
  cpus?: readonly number[] | undefined;
  /** Log every request into the prefix, as Debian does; off by default so logging is not measured. */
  accessLog?: boolean | undefined;
  /**
   * Raw directive lines appended to a context, for experiments and for tests that need nginx to
   * reject a config. Recorded in the settings like everything else.
   */
  extraDirectives?: ExtraDirectives | undefined;
}

export interface ExtraDirectives {
  main?: string[] | undefined;
  events?: string[] | undefined;
  http?: string[] | undefined;
  server?: string[] | undefined;
}

/** Every value the rendered config uses, flat enough for a report table. */
export interface NginxSettings extends Omit<PresetValues, 'openFileCache'> {
  preset: NginxPreset;
  host: string;
  port: number;
  listen: string;
  backlog: number;
  reuseport: boolean;
  payloadBytes: number;
  prefix: string;
  configPath: string;
  documentRoot: string;
  indexFile: string;
  errorLog: string;
  errorLogLevel: string;
  pidFile: string;
  accessLog: string;
  tempPaths: Record<string, string>;
  daemon: boolean;
  masterProcess: boolean;
  user: string | null;
  workerProcesses: number;
  connections: number;
  workerConnections: number;
  workerRlimitNofile: number;
  /** How the processes are pinned: taskset on the master, inherited by the workers; null when not. */
  cpuPinning: { method: 'taskset'; cpus: number[] } | null;
  /** The preset's open_file_cache, e.g. `max=1024 inactive=300s, valid 300s`, or `off`. */
  openFileCache: string;
  serverTokens: boolean;
  typesHashMaxSize: number;
  defaultType: string;
  extraDirectives: Required<{ [K in keyof ExtraDirectives]: string[] }>;
}

/** A file or directory startNginx creates below the prefix before nginx runs. */
export type PrefixEntry = { kind: 'dir'; path: string } | { kind: 'file'; path: string; content: string };

export interface RenderedNginxConfig {
  text: string;
  settings: NginxSettings;
  /** Directories and files the config expects, relative to the prefix, parents first. */
  layout: PrefixEntry[];
}

/** What the two presets set differently. */
export interface PresetValues {
  acceptMutex: boolean;
  multiAccept: boolean;
  sendfile: boolean;
  tcpNopush: boolean;
  tcpNodelay: boolean;
  keepaliveTimeoutSeconds: number;
  keepaliveRequests: number;
  openFileCache: string[] | null;
  gzip: boolean;
  tryFiles: string | null;
}

/**
 * stock: what the seed's nginx did. Debian's nginx.conf (sendfile, tcp_nopush, gzip, its default
 * site's try_files) plus the values the seed's Ubuntu 12.04 nginx 1.1.19 had and nginx 1.22 no
 * longer has: keepalive_timeout 65 from that nginx.conf, keepalive_requests 100 and accept_mutex on
 * from that version's compiled defaults (1.22 defaults to 1000 and off). With 100 the clients
 * reconnect every 100 requests, which is what the seed measured.
 *
 * tuned: nothing a benchmark run does should cost a reconnect, a stat or a log line.
 */
const PRESETS: Record<NginxPreset, PresetValues> = {
  stock: {
    acceptMutex: true,
    multiAccept: false,
    sendfile: true,
    tcpNopush: true,
    tcpNodelay: true,
    keepaliveTimeoutSeconds: 65,
    keepaliveRequests: 100,
    openFileCache: null,
    gzip: true,
    tryFiles: '$uri $uri/ =404',
  },
  tuned: {
    acceptMutex: false,
    multiAccept: false,
    sendfile: true,
    tcpNopush: true,
    tcpNodelay: true,
    keepaliveTimeoutSeconds: 300,
    keepaliveRequests: 10_000_000,
    openFileCache: ['max=1024 inactive=300s', '300s'],
    gzip: false,
    tryFiles: null,
  },
};

const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'] as const;

function wholeNumber(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** The payload exactly as the seed wrote it: `'*' * n`. */
export function payloadBody(bytes: number): string {
  return '*'.repeat(bytes);
}

/** Worst case every client lands on one worker, so each worker must hold all of them. */
export function workerConnectionsFor(connections: number): number {
  return Math.max(MIN_WORKER_CONNECTIONS, 2 * connections + CONNECTION_MARGIN);
}

/** A sendfile in flight holds the file open next to its socket, hence two descriptors per connection. */
export function workerRlimitFor(workerConnections: number, nofileLimit?: number): number {
  const wanted = 2 * workerConnections;
  return nofileLimit === undefined ? wanted : Math.min(wanted, nofileLimit);
}

function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkDirective(line: string, where: string): string {
  if (/[\r\n]/.test(line))
    throw new UsageError(`extra ${where} directive must be one line: ${JSON.stringify(line)}`);
  return line;
}

/** The options checked, with their defaults: what the settings are made of. */
interface CheckedOptions {
  prefix: string;
  host: string;
  port: number;
  payloadBytes: number;
  workers: number;
  connections: number;
  backlog: number;
  preset: NginxPreset;
  reuseport: boolean;
  cpus: number[] | null;
  extra: NginxSettings['extraDirectives'];
}

/** Step 1: every option checked (one clear line for a bad one) and defaulted. */
function checkOptions(options: NginxConfigOptions): CheckedOptions {
  const prefix = options.prefix.replace(/\/+$/, '');
  if (!isAbsolute(prefix) || prefix === '')
    throw new UsageError(`prefix must be an absolute path, got '${options.prefix}'`);
  if (/[\s;{}"'\\$]/.test(prefix))
    throw new UsageError(`prefix must not contain spaces or nginx syntax, got '${prefix}'`);
  const host = options.host ?? '127.0.0.1';
  if (!/^[0-9A-Za-z.:_-]+$/.test(host))
    throw new UsageError(`host must be an address or a name, got '${host}'`);
  const port = wholeNumber(options.port, 'port', 1, 65535);
  const payloadBytes = wholeNumber(options.payloadBytes, 'payload', 0, MAX_PAYLOAD_BYTES);
  const workers = wholeNumber(options.workers, 'workers', 1, 1024);
  const connections = wholeNumber(options.connections ?? DEFAULT_CONNECTIONS, 'connections', 1, 1_000_000);
  const backlog = wholeNumber(options.backlog ?? DEFAULT_BACKLOG, 'backlog', 1, 1_000_000);
  const preset = options.preset ?? 'stock';
  if (!NGINX_PRESETS.includes(preset))
    throw new UsageError(`preset must be one of ${NGINX_PRESETS.join(', ')}, got '${preset}'`);
  const reuseport = options.reuseport ?? false;
  const cpus = options.cpus !== undefined && options.cpus.length > 0 ? [...options.cpus] : null;
  if (cpus?.some((cpu) => !Number.isInteger(cpu) || cpu < 0))
    throw new UsageError(`cpus must be CPU numbers, got ${cpus.join(',')}`);
  const extra = {
    main: (options.extraDirectives?.main ?? []).map((l) => checkDirective(l, 'main')),
    events: (options.extraDirectives?.events ?? []).map((l) => checkDirective(l, 'events')),
    http: (options.extraDirectives?.http ?? []).map((l) => checkDirective(l, 'http')),
    server: (options.extraDirectives?.server ?? []).map((l) => checkDirective(l, 'server')),
  };
  return { prefix, host, port, payloadBytes, workers, connections, backlog, preset, reuseport, cpus, extra };
}

/** Step 2: every value the config will use, paths below the prefix included. */
function settingsFor(checked: CheckedOptions, options: NginxConfigOptions): NginxSettings {
  const { prefix, host, port, backlog, reuseport, preset, connections, cpus } = checked;
  const values = PRESETS[preset];
  const workerConnections = workerConnectionsFor(connections);
  const path = (...parts: string[]) => join(prefix, ...parts);
  const documentRoot = path('html');
  return {
    preset,
    host,
    port,
    listen: `${listenAddress(host, port)} default_server backlog=${backlog}${reuseport ? ' reuseport' : ''}`,
    backlog,
    reuseport,
    payloadBytes: checked.payloadBytes,
    prefix,
    configPath: path('conf', 'nginx.conf'),
    documentRoot,
    indexFile: join(documentRoot, 'index.html'),
    errorLog: path('logs', 'error.log'),
    errorLogLevel: 'warn',
    pidFile: path('logs', 'nginx.pid'),
    accessLog: options.accessLog ? path('logs', 'access.log') : 'off',
    tempPaths: Object.fromEntries(TEMP_PATHS.map((name) => [name, path('temp', name)])),
    daemon: false,
    masterProcess: true,
    user: options.user ? `${options.user.name} ${options.user.group}` : null,
    workerProcesses: checked.workers,
    connections,
    workerConnections,
    workerRlimitNofile: workerRlimitFor(workerConnections, options.nofileLimit),
    cpuPinning: cpus ? { method: 'taskset', cpus } : null,
    acceptMutex: values.acceptMutex,
    multiAccept: values.multiAccept,
    sendfile: values.sendfile,
    tcpNopush: values.tcpNopush,
    tcpNodelay: values.tcpNodelay,
    keepaliveTimeoutSeconds: values.keepaliveTimeoutSeconds,
    keepaliveRequests: values.keepaliveRequests,
    openFileCache: values.openFileCache
      ? `${values.openFileCache[0]}, valid ${values.openFileCache[1]}`
      : 'off',
    gzip: values.gzip,
    serverTokens: true,
    typesHashMaxSize: 2048,
    defaultType: 'application/octet-stream',
    tryFiles: values.tryFiles,
    extraDirectives: checked.extra,
  };
}

const onOff = (on: boolean) => (on ? 'on' : 'off');

/** Step 3: the config text, written from the settings alone, so the two cannot disagree. */
function configLines(settings: NginxSettings): string[] {
  const openFileCache = PRESETS[settings.preset].openFileCache;
  const extra = settings.extraDirectives;
  return [
    `# scaleup nginx config, preset '${settings.preset}'. Generated; every value is in the run's settings.`,
    'daemon off;',
    'master_process on;',
    ...(settings.user ? [`user ${settings.user};`] : []),
    `worker_processes ${settings.workerProcesses};`,
    `worker_rlimit_nofile ${settings.workerRlimitNofile};`,
    `error_log ${settings.errorLog} ${settings.errorLogLevel};`,
    `pid ${settings.pidFile};`,
    ...extra.main,
    '',
    'events {',
    `    worker_connections ${settings.workerConnections};`,
    `    accept_mutex ${onOff(settings.acceptMutex)};`,
    `    multi_accept ${onOff(settings.multiAccept)};`,
    ...extra.events.map((l) => `    ${l}`),
    '}',
    '',
    'http {',
    `    sendfile ${onOff(settings.sendfile)};`,
    `    tcp_nopush ${onOff(settings.tcpNopush)};`,
    `    tcp_nodelay ${onOff(settings.tcpNodelay)};`,
    `    keepalive_timeout ${settings.keepaliveTimeoutSeconds}s;`,
    `    keepalive_requests ${settings.keepaliveRequests};`,
    ...(openFileCache
      ? [
          `    open_file_cache ${openFileCache[0]};`,
          `    open_file_cache_valid ${openFileCache[1]};`,
          '    open_file_cache_errors on;',
        ]
      : ['    open_file_cache off;']),
    `    types_hash_max_size ${settings.typesHashMaxSize};`,
    // Inlined rather than including /etc/nginx/mime.types so the config depends on nothing outside the prefix.
    '    types {',
    '        text/html html htm shtml;',
    '    }',
    `    default_type ${settings.defaultType};`,
    `    server_tokens ${onOff(settings.serverTokens)};`,
    `    gzip ${onOff(settings.gzip)};`,
    `    access_log ${settings.accessLog};`,
    ...TEMP_PATHS.map((name) => `    ${name}_temp_path ${settings.tempPaths[name]};`),
    ...extra.http.map((l) => `    ${l}`),
    '',
    '    server {',
    `        listen ${settings.listen};`,
    '        server_name _;',
    `        root ${settings.documentRoot};`,
    '        index index.html;',
    '        location / {',
    ...(settings.tryFiles ? [`            try_files ${settings.tryFiles};`] : []),
    '        }',
    ...extra.server.map((l) => `        ${l}`),
    '    }',
    '}',
    '',
  ];
}

/**
 * The nginx.conf for one run, as text, with every value it uses. Pure: the same options give the
 * same bytes, which the snapshot tests pin; startNginx does the file system work.
 */
export function renderNginxConfig(options: NginxConfigOptions): RenderedNginxConfig {
  const settings = settingsFor(checkOptions(options), options);
  const text = configLines(settings).join('\n');
  const layout: PrefixEntry[] = [
    { kind: 'dir', path: 'conf' },
    { kind: 'dir', path: 'html' },
    { kind: 'dir', path: 'logs' },
    { kind: 'dir', path: 'temp' },
    { kind: 'file', path: 'conf/nginx.conf', content: text },
    { kind: 'file', path: 'html/index.html', content: payloadBody(settings.payloadBytes) },
  ];
  return { text, settings, layout };
}
