import { createReadStream } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { clock } from './clock.ts';
import {
  hasBareLineFeed,
  MAX_HEAD_BYTES,
  newRequestHead,
  parseRequestHead,
  type RequestHead,
} from './http-parser.ts';
import type { Reply, Resource, StreamReply } from './resource.ts';
import { ALLOW_LINE, CLOSE, connectionVariant, errorResponse, isPrebuiltResponse } from './responses.ts';
import { socketFd, type ZeroCopySender } from './zero-copy.ts';

export interface HttpTimeouts {
  /** From the first byte of a request head to its end. */
  headerTimeoutMs: number;
  /** From the first byte of a request to the end of its body, and for a stalled response. */
  requestTimeoutMs: number;
  /** How long a connection may sit idle between requests. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = {
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 75_000,
};

export interface HttpCounters {
  requests: number;
  connections: number;
}

/** After we half-close, how long the peer gets to close its side before we drop it. */
const LINGER_MS = 2_000;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CR = 13;
const LF = 10;

const IDLE = 0;
const IN_HEAD = 1;
const IN_BODY = 2;
const BUSY = 3;
const CLOSING = 4;

function isStreamReply(reply: Reply): reply is StreamReply {
  return !(reply instanceof Uint8Array);
}

/** Request heads up to this size are remembered per connection to skip re-parsing repeats. */
const MAX_MEMO_BYTES = 1024;

function sameBytes(buf: Buffer, pos: number, memo: Buffer): boolean {
  const n = memo.length;
  for (let i = 0; i < n; i++) if (buf[pos + i] !== memo[i]) return false;
  return true;
}

/**
 * `sameBytes` for the shared read buffer at a 4-aligned `pos`, four bytes per step (~18 ns instead
 * of ~65 ns for a 41-byte head); `words` views the memo's first `memo.length >> 2` words.
 */
function sameWords(pos: number, memo: Buffer, words: Int32Array): boolean {
  const base = pos >> 2;
  const n = words.length;
  for (let i = 0; i < n; i++) if (SHARED_READ_WORDS[base + i] !== words[i]) return false;
  for (let i = n << 2; i < memo.length; i++) if (SHARED_READ_BUFFER[pos + i] !== memo[i]) return false;
  return true;
}

/** What the socket's native handle offers (node's StreamBase methods). */
interface StreamHandle {
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
}

/** A native WriteWrap object, plus the fields we hang on it while a write is in flight. */
interface WriteReq {
  oncomplete: ((this: WriteReq, status: number) => void) | undefined;
  connection: Connection | null;
  data: Buffer | Buffer[] | null;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kReadBytesOrError: number;
}

/**
 * How answers go to the socket. `direct` calls the socket handle's native `writeBuffer`/`writev`
 * (what `socket.write` ends in) with one reused request object: it skips the Writable state
 * machine, a WriteWrap allocation and a nextTick per write. When the kernel does not take all the
 * bytes, libuv queues the rest on the handle; the connection then stops reading until that write
 * completes. `stream` is plain `socket.write`, the fallback if node's internals change.
 */
export type WriteMode = 'direct' | 'stream';

let streamWrap: StreamWrapBinding | null | undefined;
/** The request object for the next direct write; replaced only when a write goes asynchronous. */
let spareReq: WriteReq | null = null;

function streamWrapBinding(): StreamWrapBinding | null {
  if (streamWrap !== undefined) return streamWrap;
  streamWrap = null;
  try {
    const binding = (process as unknown as { binding?: (name: string) => unknown }).binding?.(
      'stream_wrap',
    ) as Partial<StreamWrapBinding> | undefined;
    if (
      typeof binding?.WriteWrap === 'function' &&
      binding.streamBaseState instanceof Int32Array &&
      validIndex(binding.kLastWriteWasAsync, binding.streamBaseState) &&
      validIndex(binding.kReadBytesOrError, binding.streamBaseState)
    ) {
      streamWrap = binding as StreamWrapBinding;
      spareReq = newWriteReq(streamWrap);
    }
  } catch {
    streamWrap = null;
  }
  return streamWrap;
}

function validIndex(index: unknown, state: Int32Array): boolean {
  return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < state.length;
}

function newWriteReq(binding: StreamWrapBinding): WriteReq {
  const req = new binding.WriteWrap();
  req.oncomplete = undefined;
  req.connection = null;
  req.data = null;
  return req;
}

/** Whether this socket's handle can take direct writes. */
function supportsDirectWrite(socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  return (
    streamWrapBinding() !== null &&
    typeof handle?.writeBuffer === 'function' &&
    typeof handle.writev === 'function'
  );
}

/** Whether this Node offers what direct writes need (probed once). */
export function directWriteSupported(): boolean {
  return streamWrapBinding() !== null;
}

function onDirectWriteComplete(this: WriteReq, status: number): void {
  const connection = this.connection;
  this.connection = null;
  this.data = null;
  if (connection === null) return;
  connection.directPending--;
  if (status < 0) connection.socket.destroy();
  else if (connection.directPending === 0) connection.onDrain();
}

/** One direct write; false when the kernel did not take it all (like `socket.write` under pressure). */
function writeDirect(
  connection: Connection,
  handle: StreamHandle,
  first: Buffer,
  more: Buffer[] | null,
): boolean {
  const binding = streamWrap as StreamWrapBinding;
  const req = spareReq as WriteReq;
  let data: Buffer | Buffer[];
  let err: number;
  if (more === null) {
    data = first;
    err = handle.writeBuffer(req, first);
  } else {
    data = [first, ...more];
    err = handle.writev(req, data, true);
  }
  if (err !== 0) {
    // What the Writable does with a failed write (EPIPE, ECONNRESET...): the error is ignored.
    connection.socket.destroy();
    return true;
  }
  if (binding.streamBaseState[binding.kLastWriteWasAsync] === 0) return true;
  // libuv owns `req` until the rest is written; the data must stay alive until then.
  spareReq = newWriteReq(binding);
  req.data = data;
  req.connection = connection;
  req.oncomplete = onDirectWriteComplete;
  connection.directPending++;
  return false;
}

/**
 * One client connection: a byte-level HTTP/1.x loop that parses request heads straight from the
 * bytes read, answers each with a ready-made Buffer, and writes all answers to one read's worth
 * of pipelined requests with a single corked write.
 */
export class Connection {
  state = IDLE;
  /** Bytes received but not yet consumed (a partial head, or data that came while BUSY). Owned. */
  pending: Buffer | null = null;
  /** Body bytes of the current request still to be read and thrown away. */
  discard = 0;
  /** When the current state times out (clock ms), or 0 for never. */
  deadline: number;
  requestStart = 0;
  pausedForWrite = false;
  pausedForBusy = false;
  readPaused = false;
  peerEnded = false;
  readonly head: RequestHead = newRequestHead();
  /**
   * The bytes (with the final CRLF CRLF) of the last head parsed into `head`. Benchmark clients
   * and browsers repeat the same head on a keep-alive connection; a byte compare then stands in
   * for searching, decoding and parsing. Cleared whenever `head` is changed after parsing.
   */
  memo: Buffer | null = null;
  /** Int32 view of `memo`'s whole words, for `sameWords`; meaningful only while `memo` is set. */
  memoWords: Int32Array = EMPTY_WORDS;
  /** Direct writes the kernel has not fully taken yet (libuv holds the rest, in order). */
  directPending = 0;

  constructor(
    readonly socket: Socket,
    readonly owner: HttpServer,
    readonly userBuffer: boolean,
    /** Write straight to the socket's handle (see `WriteMode`) rather than through `socket.write`. */
    readonly directWrite = false,
  ) {
    this.deadline = clock.now + owner.timeouts.keepAliveTimeoutMs;
  }

  /**
   * Bytes `buf[0, len)` arrived. With `owned` false, `buf` is the worker's shared read buffer and
   * is overwritten by the next read: anything kept must be copied.
   */
  onRead(buf: Buffer, len: number, owned: boolean): void {
    if (this.state === CLOSING) return;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, buf.subarray(0, len)]);
      len = buf.length;
      owned = true;
      this.pending = null;
    }
    if (this.state === BUSY) {
      this.pending = owned ? buf.subarray(0, len) : Buffer.from(buf.subarray(0, len));
      // Pipelined requests queue up behind a slow reply; stop reading rather than buffer them all.
      if (len > MAX_HEAD_BYTES && !this.pausedForBusy) {
        this.pausedForBusy = true;
        this.updateReading();
      }
      return;
    }
    this.process(buf, len, owned);
  }

  process(buf: Buffer, len: number, owned: boolean): void {
    const owner = this.owner;
    const req = this.head;
    let pos = 0;
    let first: Buffer | null = null;
    let more: Buffer[] | null = null;

    while (pos < len) {
      if (this.discard > 0) {
        const n = Math.min(this.discard, len - pos);
        this.discard -= n;
        pos += n;
        continue;
      }
      const byte = buf[pos];
      if (byte === CR || byte === LF) {
        // RFC 9112 2.2: empty lines before a request line are ignored.
        pos++;
        continue;
      }
      const memo = this.memo;
      if (
        memo !== null &&
        len - pos >= memo.length &&
        (buf === SHARED_READ_BUFFER && (pos & 3) === 0
          ? sameWords(pos, memo, this.memoWords)
          : sameBytes(buf, pos, memo))
      ) {
        // `req` still holds the parse of exactly these bytes.
        pos += memo.length;
        if (this.state !== IN_HEAD) this.requestStart = clock.now;
      } else {
        const end = buf.indexOf(CRLFCRLF, pos);
        // The shared buffer holds stale bytes past `len`: a match there does not count.
        if (end === -1 || end + 4 > len) {
          if (len - pos > MAX_HEAD_BYTES) {
            this.fail(431, first, more);
            return;
          }
          if (hasBareLineFeed(buf, pos, len)) {
            this.fail(400, first, more);
            return;
          }
          this.pending = owned ? buf.subarray(pos, len) : Buffer.from(buf.subarray(pos, len));
          if (this.state !== IN_HEAD) {
            this.state = IN_HEAD;
            this.requestStart = clock.now;
            this.deadline = clock.now + owner.timeouts.headerTimeoutMs;
          }
          break;
        }
        if (end - pos > MAX_HEAD_BYTES) {
          this.fail(431, first, more);
          return;
        }
        const status = parseRequestHead(buf.toString('latin1', pos, end), req);
        if (this.state !== IN_HEAD) this.requestStart = clock.now;
        this.memo = null;
        if (status === 0 && end + 4 - pos <= MAX_MEMO_BYTES) this.remember(buf, pos, end + 4);
        pos = end + 4;
        if (status !== 0) {
          this.fail(status, first, more);
          return;
        }
      }
      this.state = IDLE;
      const refusal = this.admit(req);
      if (refusal !== 0) {
        this.fail(refusal, first, more);
        return;
      }
      owner.counters.requests++;
      if (req.keepAlive) this.discard = req.contentLength;
      const variant = connectionVariant(req.keepAlive, req.minor);
      const method = req.method;
      let reply: Reply | Promise<Reply>;
      if (method === 'GET') reply = owner.resource.respond(req, variant, false);
      else if (method === 'HEAD') reply = owner.resource.respond(req, variant, true);
      else reply = errorResponse(405, variant, false, ALLOW_LINE);

      if (reply instanceof Uint8Array) {
        if (first === null) first = reply;
        else if (more === null) more = [reply];
        else more.push(reply);
        if (!req.keepAlive) {
          this.write(first, more);
          this.closeAfterWrite();
          return;
        }
        continue;
      }
      // Slow path: the reply is not ready or is streamed; later requests wait their turn.
      this.write(first, more);
      if (pos < len) this.pending = owned ? buf.subarray(pos, len) : Buffer.from(buf.subarray(pos, len));
      this.replyLater(reply, req.keepAlive);
      return;
    }

    this.write(first, more);
    this.afterBatch();
  }

  /**
   * What a parsed request may not do here: carry a body we cannot frame (501) or expect what we
   * do not do (417); returns that status, or 0. Also decides whether the connection stays open.
   */
  admit(req: RequestHead): number {
    // A body we cannot frame leaves the connection unusable: answer and close.
    if (req.transferEncoding !== undefined) return 501;
    if (req.expect !== undefined) {
      if (req.expect.toLowerCase() !== '100-continue') return 417;
      // The client waits for 100 Continue before sending the body; we answer without it.
      if (req.contentLength > 0 && req.keepAlive) {
        req.keepAlive = false;
        this.memo = null;
      }
    }
    if (this.owner.draining && req.keepAlive) {
      req.keepAlive = false;
      this.memo = null;
    }
    return 0;
  }

  /** A reply that is not ready or is streamed: BUSY until `deliver` has sent it. */
  replyLater(reply: Reply | Promise<Reply>, keepAlive: boolean): void {
    this.state = BUSY;
    this.deadline = 0;
    if (reply instanceof Promise) {
      reply.then(
        (ready) => this.deliver(ready, keepAlive),
        () => this.socket.destroy(),
      );
    } else {
      this.deliver(reply, keepAlive);
    }
  }

  /** Everything read is answered: wait for the rest of a body, or for the next request (or close). */
  afterBatch(): void {
    const owner = this.owner;
    if (this.discard > 0) {
      if (this.state !== IN_BODY) {
        this.state = IN_BODY;
        this.deadline = this.requestStart + owner.timeouts.requestTimeoutMs;
      }
    } else if (this.pending === null) {
      this.state = IDLE;
      if (owner.draining || this.peerEnded) this.closeAfterWrite();
      else if (!this.pausedForWrite) this.deadline = clock.now + owner.timeouts.keepAliveTimeoutMs;
    }
  }

  /** Keeps a copy of the head `buf[start, end)` just parsed, in 4-aligned memory. */
  remember(buf: Buffer, start: number, end: number): void {
    const bytes = end - start;
    const words = new Int32Array((bytes + 3) >> 2);
    const memo = Buffer.from(words.buffer, 0, bytes);
    memo.set(buf.subarray(start, end));
    this.memo = memo;
    this.memoWords = words.subarray(0, bytes >> 2);
  }

  /** Finishes a slow-path reply, then goes on with whatever the client sent meanwhile. */
  deliver(reply: Reply, keepAlive: boolean): void {
    if (this.socket.destroyed) return;
    if (!isStreamReply(reply)) {
      this.write(reply, null);
      this.afterReply(keepAlive);
      return;
    }
    this.write(reply.head, null);
    const stream = createReadStream(reply.path, { start: reply.start, end: reply.end });
    this.deadline = clock.now + this.owner.timeouts.requestTimeoutMs;
    const onClose = () => stream.destroy();
    this.socket.once('close', onClose);
    stream.on('data', () => {
      this.deadline = clock.now + this.owner.timeouts.requestTimeoutMs;
    });
    stream.on('error', () => this.socket.destroy());
    stream.on('end', () => {
      this.socket.off('close', onClose);
      this.afterReply(keepAlive);
    });
    stream.pipe(this.socket, { end: false });
  }

  afterReply(keepAlive: boolean): void {
    if (this.socket.destroyed) return;
    const rest = this.pending;
    this.pending = null;
    if (!keepAlive || this.owner.draining || (this.peerEnded && rest === null)) {
      this.closeAfterWrite();
      return;
    }
    this.state = IDLE;
    this.deadline = clock.now + this.owner.timeouts.keepAliveTimeoutMs;
    if (this.pausedForBusy) {
      this.pausedForBusy = false;
      this.updateReading();
    }
    if (rest !== null) this.process(rest, rest.length, true);
  }

  /** Starts or stops reading from the socket to match the pause flags. */
  updateReading(): void {
    const pause = this.pausedForWrite || this.pausedForBusy;
    if (pause === this.readPaused) return;
    this.readPaused = pause;
    if (this.userBuffer) {
      // Reads into the user buffer bypass the Readable, so pause() would not stop them.
      const handle = (
        this.socket as unknown as { _handle: { readStart(): number; readStop(): number } | null }
      )._handle;
      if (handle === null) return;
      if (pause) handle.readStop();
      else handle.readStart();
    } else if (pause) {
      this.socket.pause();
    } else {
      this.socket.resume();
    }
  }

  write(first: Buffer | null, more: Buffer[] | null): void {
    if (first === null) return;
    const socket = this.socket;
    let ok: boolean;
    // Direct writes keep their order with writes made through the Writable because libuv queues
    // every write on the handle; only data still buffered inside the Writable (not yet handed to
    // the handle) could be overtaken, so then, and after end(), the Writable is used.
    const zeroCopy = this.owner.zeroCopy;
    const handle = this.directWrite ? (socket as unknown as { _handle: StreamHandle | null })._handle : null;
    const nothingQueued = socket.writableLength === 0 && !socket.writableEnded;
    if (
      zeroCopy !== null &&
      more === null &&
      // sendfile bypasses every queue, so it may only go when nothing is queued before it.
      nothingQueued &&
      this.directPending === 0 &&
      zeroCopy.eligible(first.length) &&
      isPrebuiltResponse(first)
    ) {
      const fd = socketFd(socket);
      const sent = fd < 0 ? -1 : zeroCopy.send(fd, first);
      if (sent === first.length) ok = true;
      // Short (socket buffer full) or failed: the rest goes through the queued path, which waits
      // for the socket to drain or reports the error as for any write.
      else ok = socket.write(sent > 0 ? first.subarray(sent) : first);
    } else if (handle !== null && nothingQueued) {
      ok = writeDirect(this, handle, first, more);
    } else if (more === null) {
      ok = socket.write(first);
    } else {
      socket.cork();
      socket.write(first);
      for (const buf of more) socket.write(buf);
      socket.uncork();
      ok = !socket.writableNeedDrain;
    }
    // A client that sends requests but does not read answers must not grow our memory.
    if (!ok && !this.pausedForWrite) {
      this.pausedForWrite = true;
      this.updateReading();
      this.deadline = clock.now + this.owner.timeouts.requestTimeoutMs;
    }
  }

  onDrain(): void {
    if (!this.pausedForWrite || this.directPending > 0 || this.socket.writableNeedDrain) return;
    this.pausedForWrite = false;
    this.updateReading();
    if (this.state === IDLE) this.deadline = clock.now + this.owner.timeouts.keepAliveTimeoutMs;
  }

  fail(status: number, first: Buffer | null, more: Buffer[] | null): void {
    this.owner.counters.requests++;
    const response = errorResponse(status, CLOSE);
    if (first === null) this.write(response, null);
    else if (more === null) this.write(first, [response]);
    else {
      more.push(response);
      this.write(first, more);
    }
    this.closeAfterWrite();
  }

  /**
   * Half-closes after the queued answers. Reading goes on (and is ignored) until the peer closes,
   * so unread request bytes do not turn our FIN into a reset that could destroy the answer.
   */
  closeAfterWrite(): void {
    if (this.state === CLOSING) return;
    this.state = CLOSING;
    this.pending = null;
    this.deadline = clock.now + LINGER_MS;
    this.socket.end();
    this.pausedForWrite = false;
    this.pausedForBusy = false;
    this.updateReading();
  }

  /** The peer half-closed: answer what it already asked, then close our side too. */
  onEnd(): void {
    this.peerEnded = true;
    if (this.state === BUSY || this.state === CLOSING) return;
    this.closeAfterWrite();
  }

  onTimeout(): void {
    switch (this.state) {
      case IN_HEAD:
      case IN_BODY:
        this.write(errorResponse(408, CLOSE), null);
        this.owner.counters.requests++;
        this.closeAfterWrite();
        break;
      case IDLE:
        if (!this.pausedForWrite) {
          this.closeAfterWrite();
          break;
        }
        this.socket.destroy();
        break;
      default:
        this.socket.destroy();
    }
  }

  /** Shutdown: a connection between requests closes now, the others after their current reply. */
  drain(): void {
    if (this.state === IDLE && this.pending === null && !this.pausedForWrite) this.closeAfterWrite();
  }
}

/**
 * How bytes come off the socket. `user-buffer` is node's `onread` mechanism (public for client
 * sockets, reached here through the socket's own fields): every read lands in one preallocated
 * buffer and calls us directly, skipping a 64 KiB allocation and the Readable machinery per read,
 * which measured ~2 us less CPU per request. `direct` is the same buffer with the handle's native
 * `onread` callback pointed at us, which also skips node's per-read JS dispatcher (it refreshes
 * socket timeouts, which we do not use); end of stream and errors still go through node's own
 * callback. `stream` is plain 'data' events, the fallback.
 */
export type ReadMode = 'direct' | 'user-buffer' | 'stream';

/** A socket handle whose native `onread` callback we replaced, and the connection it feeds. */
interface HookedHandle {
  onread: (this: HookedHandle, arrayBuffer: unknown) => unknown;
  scaleupConnection: Connection | undefined;
}

/** Node's own `onread` (onStreamRead), taken from the first socket, for EOF and errors. */
let nodeOnRead: HookedHandle['onread'] | undefined;

function directOnRead(this: HookedHandle, arrayBuffer: unknown): unknown {
  const binding = streamWrap as StreamWrapBinding;
  const nread = binding.streamBaseState[binding.kReadBytesOrError] as number;
  const connection = this.scaleupConnection;
  if (nread > 0 && connection !== undefined && !connection.socket.destroyed) {
    connection.onRead(SHARED_READ_BUFFER, nread, false);
    return undefined;
  }
  return (nodeOnRead as HookedHandle['onread']).call(this, arrayBuffer);
}

/** Points the handle's native read callback at `connection`, if this socket looks as expected. */
function hookReads(socket: Socket, connection: Connection): boolean {
  const handle = (socket as unknown as { _handle: HookedHandle | null })._handle;
  if (handle === null || streamWrapBinding() === null) return false;
  const current = handle.onread;
  if (typeof current !== 'function') return false;
  if (nodeOnRead === undefined) nodeOnRead = current;
  else if (current !== nodeOnRead) return false;
  handle.scaleupConnection = connection;
  handle.onread = directOnRead;
  return true;
}

const SHARED_READ_BUFFER = Buffer.from(new ArrayBuffer(64 * 1024));
const SHARED_READ_WORDS = new Int32Array(SHARED_READ_BUFFER.buffer, 0, SHARED_READ_BUFFER.length >> 2);
const EMPTY_WORDS = new Int32Array(0);
let cachedSymbols: { buffer: symbol; callback: symbol } | null | undefined;

function userBufferSymbols(socket: Socket): { buffer: symbol; callback: symbol } | null {
  if (cachedSymbols !== undefined) return cachedSymbols;
  let buffer: symbol | undefined;
  let callback: symbol | undefined;
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    if (symbol.description === 'kBuffer') buffer = symbol;
    else if (symbol.description === 'kBufferCb') callback = symbol;
  }
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } })._handle;
  const fields = socket as unknown as Record<symbol, unknown>;
  cachedSymbols =
    buffer !== undefined &&
    callback !== undefined &&
    fields[buffer] === null &&
    fields[callback] === null &&
    typeof handle?.useUserBuffer === 'function'
      ? { buffer, callback }
      : null;
  return cachedSymbols;
}

/** Whether this Node's sockets look as expected for user-buffer reads (probed on a dummy socket). */
export function userBufferSupported(): boolean {
  if (cachedSymbols !== undefined) return cachedSymbols !== null;
  const probe = new Socket();
  let buffer = false;
  let callback = false;
  for (const symbol of Object.getOwnPropertySymbols(probe)) {
    if (symbol.description === 'kBuffer') buffer = true;
    else if (symbol.description === 'kBufferCb') callback = true;
  }
  probe.destroy();
  return buffer && callback;
}

/**
 * The HTTP/1.1 server each worker runs, directly on node:net. It never touches the listening
 * socket itself beyond `listen`: in shared mode the socket comes from the cluster master.
 */
export class HttpServer {
  readonly server: Server;
  readonly counters: HttpCounters = { requests: 0, connections: 0 };
  readonly timeouts: HttpTimeouts;
  draining = false;
  private readonly connections = new Set<Connection>();
  private readonly sweeper: NodeJS.Timeout;
  private drained: (() => void) | null = null;

  readonly readMode: ReadMode;
  readonly writeMode: WriteMode;
  /** Sends large prebuilt responses with sendfile(2); null writes everything. */
  readonly zeroCopy: ZeroCopySender | null;

  constructor(
    readonly resource: Resource,
    timeouts: Partial<HttpTimeouts> = {},
    options: { readMode?: ReadMode; writeMode?: WriteMode; zeroCopy?: ZeroCopySender | null } = {},
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts };
    // The direct modes are opt-in: they save CPU (~0.3 us per request, +7% req/s at 40 B), but at
    // 10 kB, where the single-threaded load tool saturates first, they measured 2-4% fewer req/s
    // (the server then idles and every wake-up costs the client). See docs/performance.md.
    this.readMode = options.readMode ?? (userBufferSupported() ? 'user-buffer' : 'stream');
    this.writeMode = options.writeMode ?? 'stream';
    this.zeroCopy = options.zeroCopy ?? null;
    // Half-open allowed: a client that shuts down its sending side still gets pending answers.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    const period = Math.max(
      20,
      Math.min(250, this.timeouts.headerTimeoutMs / 4, this.timeouts.keepAliveTimeoutMs / 4),
    );
    this.sweeper = setInterval(() => this.sweep(), period);
    this.sweeper.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    this.counters.connections++;
    const symbols = this.readMode !== 'stream' ? userBufferSymbols(socket) : null;
    const direct = this.writeMode === 'direct' && supportsDirectWrite(socket);
    const connection = new Connection(socket, this, symbols !== null, direct);
    this.connections.add(connection);
    if (symbols !== null) {
      const fields = socket as unknown as Record<symbol, unknown>;
      fields[symbols.buffer] = SHARED_READ_BUFFER;
      fields[symbols.callback] = (nread: number, buf: Buffer) => {
        connection.onRead(buf, nread, false);
      };
      (socket as unknown as { _handle: { useUserBuffer(buf: Uint8Array): void } })._handle.useUserBuffer(
        SHARED_READ_BUFFER,
      );
      // If the hook does not fit this socket, the user-buffer callback above still serves.
      if (this.readMode === 'direct') hookReads(socket, connection);
    }
    // Also in user-buffer mode: catches any chunk read before the switch (none in practice).
    socket.on('data', (chunk: Buffer) => connection.onRead(chunk, chunk.length, true));
    socket.on('end', () => connection.onEnd());
    socket.on('drain', () => connection.onDrain());
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connections.delete(connection);
      if (this.drained !== null && this.connections.size === 0) this.drained();
    });
    if (this.draining) connection.drain();
  }

  private sweep(): void {
    const now = Date.now();
    clock.now = now;
    for (const connection of this.connections) {
      if (connection.deadline !== 0 && now >= connection.deadline) connection.onTimeout();
    }
  }

  /**
   * Stops accepting, closes idle connections and lets the others finish their current request.
   * Resolves once no connection is left; `destroyAll` cuts that short.
   */
  shutdown(): Promise<void> {
    this.draining = true;
    this.server.close();
    return new Promise((resolve) => {
      this.drained = () => {
        clearInterval(this.sweeper);
        this.zeroCopy?.close();
        resolve();
      };
      for (const connection of this.connections) connection.drain();
      if (this.connections.size === 0) this.drained();
    });
  }

  destroyAll(): void {
    for (const connection of this.connections) connection.socket.destroy();
  }
}
