import { clock } from './clock.ts';

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  206: 'Partial Content',
  301: 'Moved Permanently',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

const SERVER_LINE = 'Server: scaleup\r\n';

/** How the connection goes on after a response; each needs different bytes on the wire. */
export const KEEP_ALIVE_11 = 0;
/** HTTP/1.0 keep-alive must be confirmed with `Connection: keep-alive`. */
export const KEEP_ALIVE_10 = 1;
export const CLOSE = 2;
export type ConnectionVariant = typeof KEEP_ALIVE_11 | typeof KEEP_ALIVE_10 | typeof CLOSE;

const CONNECTION_LINES = ['', 'Connection: keep-alive\r\n', 'Connection: close\r\n'] as const;

export function connectionVariant(keepAlive: boolean, minor: number): ConnectionVariant {
  if (!keepAlive) return CLOSE;
  return minor === 1 ? KEEP_ALIVE_11 : KEEP_ALIVE_10;
}

/**
 * One whole response as a single Buffer: status line, headers, and (unless `body` is null, as for
 * HEAD) the body. `headers` are complete `Name: value\r\n` lines without Date, Content-Length and
 * Connection, which this adds.
 */
export function buildResponse(
  status: number,
  headers: string,
  contentLength: number,
  body: Uint8Array | null,
  variant: ConnectionVariant,
): Buffer {
  const head =
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n${SERVER_LINE}${clock.dateLine}${headers}` +
    `Content-Length: ${contentLength}\r\n${CONNECTION_LINES[variant]}\r\n`;
  const headLength = Buffer.byteLength(head, 'latin1');
  const out = Buffer.allocUnsafe(headLength + (body === null ? 0 : body.length));
  out.write(head, 0, 'latin1');
  if (body !== null) out.set(body, headLength);
  return out;
}

const prebuilt = new WeakSet<Uint8Array>();

/**
 * Whether this Buffer is a prebuilt response that will be sent again and again (and so is worth a
 * zero-copy memfd), as opposed to one built for a single request such as a 206.
 */
export function isPrebuiltResponse(buf: Uint8Array): boolean {
  return prebuilt.has(buf);
}

/**
 * A response whose bytes only change with the Date header: built at most once a second per
 * variant, then the same Buffer is written for every request.
 */
export class CachedResponse {
  private version = -1;
  private readonly variants: (Buffer | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];

  constructor(
    readonly status: number,
    readonly headers: string,
    readonly body: Uint8Array,
  ) {}

  get(variant: ConnectionVariant, headOnly: boolean): Buffer {
    if (this.version !== clock.version) {
      this.version = clock.version;
      this.variants.fill(undefined);
    }
    const index = headOnly ? variant + 3 : variant;
    let buf = this.variants[index];
    if (buf === undefined) {
      buf = buildResponse(this.status, this.headers, this.body.length, headOnly ? null : this.body, variant);
      prebuilt.add(buf);
      this.variants[index] = buf;
    }
    return buf;
  }
}

const errorResponses = new Map<string, CachedResponse>();

/** A short text/plain error response; `extraHeaders` for things like `Allow`. */
export function errorResponse(
  status: number,
  variant: ConnectionVariant,
  headOnly = false,
  extraHeaders = '',
): Buffer {
  const key = `${status}\n${extraHeaders}`;
  let cached = errorResponses.get(key);
  if (cached === undefined) {
    const body = Buffer.from(`${status} ${STATUS_TEXT[status] ?? 'Error'}\n`, 'latin1');
    cached = new CachedResponse(status, `Content-Type: text/plain\r\n${extraHeaders}`, body);
    errorResponses.set(key, cached);
  }
  return cached.get(variant, headOnly);
}

export const ALLOW_LINE = 'Allow: GET, HEAD\r\n';
