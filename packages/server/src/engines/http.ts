import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { newRequestHead, type RequestHead } from '../http-parser.ts';
import type { HttpCounters, HttpTimeouts } from '../http-server.ts';
import type { Reply, Resource } from '../resource.ts';
import { ALLOW_LINE, CLOSE, errorResponse, isPrebuiltResponse, KEEP_ALIVE_11 } from '../responses.ts';
import type { WorkerEngine } from './engine.ts';

/** A response of ours taken apart into what `writeHead` and `end` take. */
export interface ResponseParts {
  status: number;
  statusText: string;
  /** Names and values in one flat list, as `writeHead` accepts them: no per-request object. */
  headers: string[];
  body: Buffer;
}

/**
 * Headers node:http writes itself: it decides keep-alive, so a Connection line of ours could
 * contradict it.
 */
const ENGINE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * Takes apart a complete response built by `buildResponse` (status line, header lines, blank
 * line, body). Pure; throws on bytes that are not such a response, which would be a bug of ours.
 */
export function splitResponse(buf: Buffer): ResponseParts {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end === -1) throw new Error('a response without the blank line after its head');
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (statusLine === null) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
  const headers: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    if (ENGINE_HEADERS.has(name.toLowerCase())) continue;
    headers.push(name, line.slice(colon + 1).trim());
  }
  return {
    status: Number(statusLine[1]),
    statusText: statusLine[2] ?? '',
    headers,
    body: buf.subarray(end + 4),
  };
}

/**
 * Prebuilt responses are the same Buffer for every request within a second, so each is taken
 * apart once: the handler then does what a tuned node:http handler does (a ready header array, a
 * Buffer body, always a Content-Length). One built for a single request (a 206, a streamed file's
 * head) is never seen again and is not remembered.
 */
const partsCache = new WeakMap<Buffer, ResponseParts>();

function partsOf(buf: Buffer): ResponseParts {
  let parts = partsCache.get(buf);
  if (parts === undefined) {
    parts = splitResponse(buf);
    if (isPrebuiltResponse(buf)) partsCache.set(buf, parts);
  }
  return parts;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** What the resources read of a request, from node's parse. A fresh object: replies may be async. */
export function requestHeadOf(req: IncomingMessage): RequestHead {
  const head = newRequestHead();
  head.method = req.method ?? 'GET';
  head.target = req.url ?? '/';
  head.minor = req.httpVersionMinor;
  head.host = header(req, 'host');
  head.contentLength = Number(header(req, 'content-length') ?? 0) || 0;
  head.transferEncoding = header(req, 'transfer-encoding');
  head.expect = header(req, 'expect');
  head.ifNoneMatch = header(req, 'if-none-match');
  head.ifModifiedSince = header(req, 'if-modified-since');
  head.range = header(req, 'range');
  head.ifRange = header(req, 'if-range');
  return head;
}

/** The status our own engine answers a request node's parser refused with. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * `--engine http`: a plain `node:http` server, as Node services run under `cluster` (pm2's
 * cluster mode), serving the same resources as the `net` engine. Node parses, keeps connections
 * alive, writes the head and the body; there is no sendfile.
 */
export class NodeHttpEngine implements WorkerEngine {
  readonly server: Server;
  readonly counters: HttpCounters = { requests: 0, connections: 0 };
  private draining = false;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly resource: Resource,
    timeouts: HttpTimeouts,
  ) {
    const checkMs = Math.max(20, Math.min(250, timeouts.headerTimeoutMs / 4, timeouts.requestTimeoutMs / 4));
    this.server = createServer(
      {
        noDelay: true,
        keepAliveTimeout: timeouts.keepAliveTimeoutMs,
        // node refuses a headersTimeout above requestTimeout.
        headersTimeout: Math.min(timeouts.headerTimeoutMs, timeouts.requestTimeoutMs),
        requestTimeout: timeouts.requestTimeoutMs,
        connectionsCheckingInterval: checkMs,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.on('connection', () => {
      this.counters.connections++;
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      this.refuse(error, socket),
    );
  }

  zeroCopyResponses(): number {
    return 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.counters.requests++;
    // Our Date line is in the prebuilt head, refreshed once a second like node's own.
    res.sendDate = false;
    if (this.draining) res.shouldKeepAlive = false;
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      this.send(res, errorResponse(405, KEEP_ALIVE_11, false, ALLOW_LINE));
      return;
    }
    // node:http manages Connection itself, so the resource is always asked for the plain variant.
    const reply = this.resource.respond(requestHeadOf(req), KEEP_ALIVE_11, method === 'HEAD');
    if (reply instanceof Promise) {
      reply.then(
        (ready) => this.send(res, ready),
        () => res.destroy(),
      );
    } else {
      this.send(res, reply);
    }
  }

  private send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed) return;
    if (reply instanceof Uint8Array) {
      const parts = partsOf(reply);
      res.writeHead(parts.status, parts.statusText, parts.headers);
      res.end(parts.body);
      return;
    }
    const parts = partsOf(reply.head);
    res.writeHead(parts.status, parts.statusText, parts.headers);
    const stream = createReadStream(reply.path, { start: reply.start, end: reply.end });
    stream.on('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  }

  /** A request node's parser refused: counted and answered with our engine's bytes, then closed. */
  private refuse(error: NodeJS.ErrnoException, socket: Socket): void {
    this.counters.requests++;
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    socket.end(errorResponse(clientErrorStatus(error.code), CLOSE));
  }

  shutdown(): Promise<void> {
    this.draining = true;
    return new Promise((resolve) => {
      this.server.close(() => {
        clearInterval(this.drainTimer);
        resolve();
      });
      // A keep-alive connection goes idle between requests; each reply while draining closes its
      // connection, and the idle ones are closed as they appear.
      this.server.closeIdleConnections();
      this.drainTimer = setInterval(() => this.server.closeIdleConnections(), 50);
      this.drainTimer.unref();
    });
  }

  destroyAll(): void {
    this.server.closeAllConnections();
  }
}
