import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestHead } from '../src/http-parser.ts';
import {
  Connection,
  directWriteSupported,
  HttpServer,
  type ReadMode,
  userBufferSupported,
  type WriteMode,
} from '../src/http-server.ts';
import { createMemoryResource, type Reply, type Resource } from '../src/resource.ts';
import { buildResponse, type ConnectionVariant } from '../src/responses.ts';
import { raw } from './helpers.ts';

/** Answers with a marker naming the request, so order and variants can be checked. */
function echoResource(asyncTargets: ReadonlySet<string> = new Set()): Resource {
  return {
    respond(req: RequestHead, variant: ConnectionVariant, headOnly: boolean): Reply | Promise<Reply> {
      const reply = Buffer.from(`[${req.method} ${req.target} v${variant}${headOnly ? ' head' : ''}]`);
      if (asyncTargets.has(req.target)) return new Promise((resolve) => setTimeout(() => resolve(reply), 1));
      return reply;
    },
    close() {},
  };
}

class FakeSocket {
  readonly chunks: Buffer[] = [];
  ended = false;
  destroyed = false;
  writableNeedDrain = false;
  _handle = null;
  write(buf: Buffer): boolean {
    if (this.ended) throw new Error('write after end');
    this.chunks.push(Buffer.from(buf));
    return true;
  }
  cork() {}
  uncork() {}
  end() {
    this.ended = true;
  }
  destroy() {
    this.destroyed = true;
  }
  pause() {}
  resume() {}
  once() {}
  off() {}
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

function fakeConnection(resource: Resource, draining = false) {
  const socket = new FakeSocket();
  const owner = {
    resource,
    draining,
    counters: { requests: 0, connections: 0 },
    timeouts: { headerTimeoutMs: 1000, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000 },
    zeroCopy: null,
  };
  const connection = new Connection(socket as unknown as Socket, owner as unknown as HttpServer, false);
  return { socket, owner, connection };
}

const SHARED = Buffer.alloc(65536);

/** Feeds `bytes` as the worker would: either owned chunks or views into a reused shared buffer. */
function feed(connection: Connection, bytes: Buffer, owned: boolean): void {
  if (owned) {
    connection.onRead(Buffer.from(bytes), bytes.length, true);
    return;
  }
  // Stale data past the end must be ignored, and nothing may be kept after the call returns.
  SHARED.fill('\r\n\r\nGET /stale HTTP/1.1\r\nHost: x\r\n\r\n');
  bytes.copy(SHARED, 0);
  connection.onRead(SHARED, bytes.length, false);
  SHARED.fill('X');
}

const PIPELINE = Buffer.from(
  'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
    'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
    '\r\nHEAD /c HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /d HTTP/1.0\r\n\r\n',
  'latin1',
);
const EXPECTED_PREFIX = '[GET /a v0][HEAD /c v0 head][GET /a v0][GET /d v2]';

/** Until the connection has ended its socket: the async replies resolve on timers. */
async function untilEnded(socket: { ended: boolean }): Promise<void> {
  await waitFor(async () => (socket.ended ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 5,
    what: 'the connection to end its socket',
  });
}

describe('Connection byte loop', () => {
  for (const owned of [true, false]) {
    it(`answers a pipeline split at every byte boundary in order (${owned ? 'owned chunks' : 'shared buffer'})`, () => {
      for (let split = 0; split <= PIPELINE.length; split++) {
        const { socket, connection, owner } = fakeConnection(echoResource());
        feed(connection, PIPELINE.subarray(0, split), owned);
        feed(connection, PIPELINE.subarray(split), owned);
        const text = socket.text;
        const withoutError = text.replace(/HTTP\/1\.1 405[\s\S]*?405 Method Not Allowed\n/, '');
        expect(withoutError, `split at ${split}`).toBe(EXPECTED_PREFIX);
        expect(text).toContain('Allow: GET, HEAD');
        expect(socket.ended, `split at ${split}`).toBe(true);
        expect(owner.counters.requests).toBe(5);
      }
    });
  }

  it('answers byte-by-byte input', () => {
    const { socket, connection } = fakeConnection(echoResource());
    for (let i = 0; i < PIPELINE.length; i++) feed(connection, PIPELINE.subarray(i, i + 1), false);
    expect(socket.text.replace(/HTTP\/1\.1 405[\s\S]*?405 Method Not Allowed\n/, '')).toBe(EXPECTED_PREFIX);
  });

  it('keeps pipelined answers in order behind an asynchronous reply', async () => {
    const { socket, connection } = fakeConnection(echoResource(new Set(['/a'])));
    feed(
      connection,
      Buffer.from(
        'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHo',
      ),
      false,
    );
    feed(
      connection,
      Buffer.from('st: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      false,
    );
    await untilEnded(socket);
    expect(socket.text).toBe('[GET /a v0][GET /b v0][GET /a v0][GET /c v2]');
    expect(socket.ended).toBe(true);
  });

  it.each([
    ['a malformed request line', 'BROKEN\r\n\r\n', 400],
    ['a bare-LF head', 'GET / HTTP/1.1\nHost: x\n\n', 400],
    ['an unsupported version', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    [
      'chunked request bodies',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      501,
    ],
    ['an unknown expectation', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n', 417],
    ['a head over 16 KiB', `GET /${'a'.repeat(17000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ['an unfinished head over 16 KiB', `GET / HTTP/1.1\r\nX: ${'a'.repeat(17000)}`, 431],
  ])('answers %s with a status and closes', (_name, input, status) => {
    const { socket, connection } = fakeConnection(echoResource());
    feed(connection, Buffer.from(input, 'latin1'), false);
    expect(socket.text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} .*\\r\\n[\\s\\S]*Connection: close\\r\\n`));
    expect(socket.ended).toBe(true);
    // Anything after the error is ignored.
    feed(connection, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), false);
    expect(socket.text.match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('answers the requests before an error, then the error', () => {
    const { socket, connection } = fakeConnection(echoResource());
    feed(connection, Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n'), false);
    expect(socket.text).toMatch(/^\[GET \/a v0\]HTTP\/1\.1 400 Bad Request/);
  });

  it('skips empty lines between requests and reuses its memo only for identical heads', () => {
    const { socket, connection } = fakeConnection(echoResource());
    feed(
      connection,
      Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n'),
      false,
    );
    feed(connection, Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n'), false);
    feed(connection, Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), false);
    expect(socket.text).toBe('[GET /a v0][GET /a v0][GET /a v0][GET /a v0]');
    expect(connection.head.range).toBeUndefined();
  });

  it('closes after the current answer while draining', () => {
    const { socket, connection } = fakeConnection(echoResource(), true);
    feed(
      connection,
      Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'),
      false,
    );
    expect(socket.text).toBe('[GET /a v2]');
    expect(socket.ended).toBe(true);
  });
});

it('offers the direct read and write paths on this Node, off by default', () => {
  expect(userBufferSupported()).toBe(true);
  expect(directWriteSupported()).toBe(true);
  const server = new HttpServer(createMemoryResource(5, null));
  expect(server.readMode).toBe('user-buffer');
  expect(server.writeMode).toBe('stream');
});

/** In-process server over real sockets, for every way of reading and writing. */
describe.each([
  ['direct', 'direct'],
  ['user-buffer', 'direct'],
  ['direct', 'stream'],
  ['user-buffer', 'stream'],
  ['stream', 'stream'],
] as [ReadMode, WriteMode][])('HttpServer over real sockets (%s reads, %s writes)', (readMode, writeMode) => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    server?.destroyAll();
    await new Promise((resolve) => server?.server.close(resolve));
    server = undefined;
  });

  async function start(timeouts = {}, resource = createMemoryResource(5, null)): Promise<number> {
    server = new HttpServer(resource, timeouts, { readMode, writeMode });
    expect(server.readMode).toBe(readMode);
    expect(server.writeMode).toBe(writeMode);
    await new Promise<void>((resolve) => server!.server.listen(0, '127.0.0.1', resolve));
    const address = server.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return address.port;
  }

  /** Sends `parts` (with small pauses between) and collects everything until the server closes. */
  function exchange(
    port: number,
    parts: string[],
    options: { halfClose?: boolean; timeoutMs?: number } = {},
  ) {
    return raw(port, parts, {
      gapMs: 15,
      timeoutMs: options.timeoutMs ?? 10_000,
      halfClose: options.halfClose,
    });
  }

  it('serves pipelined requests split across writes, then closes on Connection: close', async () => {
    const port = await start();
    const { text, closedByServer } = await exchange(port, [
      'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTT',
      'P/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ]);
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
    expect(text.endsWith('Connection: close\r\n\r\n*****')).toBe(true);
    expect(closedByServer).toBe(true);
    expect(server!.counters).toEqual({ requests: 3, connections: 1 });
  });

  it('still answers a client that half-closes after sending', async () => {
    const port = await start();
    const { text, closedByServer } = await exchange(port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n'], {
      halfClose: true,
    });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(closedByServer).toBe(true);
  });

  it('cuts a client that is too slow to send its head (408) and drops idle connections', async () => {
    const port = await start({ headerTimeoutMs: 200, keepAliveTimeoutMs: 300 });
    const slow = await exchange(port, ['GET / HTTP/1.1\r\n']);
    expect(slow.text).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(slow.closedByServer).toBe(true);
    const idle = await exchange(port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n']);
    expect(idle.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(idle.closedByServer).toBe(true);
  });

  it('keeps large pipelined answers whole and in order for a client that reads late', async () => {
    // Far more than the socket buffers hold, so writes only partly succeed and must queue.
    const size = 1024 * 1024;
    const dir = await mkdtemp(join(tmpdir(), 'scaleup-http-test-'));
    try {
      const file = join(dir, 'big');
      await writeFile(file, Buffer.alloc(3 * size, 's'));
      const resource: Resource = {
        respond(req: RequestHead, variant: ConnectionVariant): Reply {
          const letter = req.target.slice(1);
          if (letter === 's') {
            const head = buildResponse(200, '', 3 * size, null, variant);
            return { head, path: file, start: 0, end: 3 * size - 1 };
          }
          return buildResponse(200, '', size, Buffer.alloc(size, letter), variant);
        },
        close() {},
      };
      const port = await start({}, resource);
      const letters = 'abcsdefghsijklmnopqrstuvwxyz'.split('');
      const received = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        socket.on('error', reject);
        socket.on('data', (d) => chunks.push(d));
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.on('connect', () => {
          socket.pause();
          const requests = letters.map((l, i) =>
            i === letters.length - 1
              ? `GET /${l} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`
              : `GET /${l} HTTP/1.1\r\nHost: a\r\n\r\n`,
          );
          socket.write(requests.join(''));
          setTimeout(() => socket.resume(), 300);
        });
      });
      let pos = 0;
      for (const letter of letters) {
        const end = received.indexOf('\r\n\r\n', pos);
        expect(end).toBeGreaterThan(pos);
        const head = received.toString('latin1', pos, end);
        expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        const length = Number(/Content-Length: (\d+)/.exec(head)?.[1]);
        expect(length).toBe(letter === 's' ? 3 * size : size);
        const body = received.subarray(end + 4, end + 4 + length);
        expect(body.length).toBe(length);
        expect(body.every((byte) => byte === letter.charCodeAt(0))).toBe(true);
        pos = end + 4 + length;
      }
      expect(pos).toBe(received.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads and discards a request body, then serves the next request', async () => {
    const port = await start();
    const { text } = await exchange(port, [
      'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234',
      '56789GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ]);
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });
});
