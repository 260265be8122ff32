import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@scaleup/core/io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { splitResponse } from '../src/engines/http.ts';
import { buildResponse, KEEP_ALIVE_11 } from '../src/responses.ts';
import {
  cleanupServers,
  http,
  type Response,
  type RunningServer,
  raw,
  readStats,
  startServer,
  waitAllGone,
  waitForServerRead,
} from './helpers.ts';

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-engines-'));
  root = join(dir, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'index.html'), '*'.repeat(40));
  await writeFile(join(root, 'big.bin'), Buffer.alloc(20_000, 'b'));
  await writeFile(join(root, 'sub', 'style.css'), 'body{}');
});

afterEach(async () => {
  await cleanupServers();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Headers each engine writes its own way: node:http decides keep-alive; Date moves. */
const OWN_HEADERS = new Set(['date', 'connection', 'keep-alive']);

function comparable(res: Response): { status: number; headers: Record<string, unknown>; body: string } {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(res.headers)) if (!OWN_HEADERS.has(name)) headers[name] = value;
  return { status: res.status, headers, body: res.body.toString('latin1') };
}

interface Probe {
  path: string;
  method?: string;
  headers?: Record<string, string>;
}

const COMMON: Probe[] = [
  { path: '/' },
  { path: '/', method: 'HEAD' },
  { path: '/?q=1' },
  { path: '/', method: 'POST' },
  { path: '/', method: 'DELETE' },
];

const FILE_ONLY: Probe[] = [
  { path: '/index.html' },
  { path: '/big.bin' },
  { path: '/big.bin', method: 'HEAD' },
  { path: '/big.bin', headers: { Range: 'bytes=100-199' } },
  { path: '/index.html', headers: { Range: 'bytes=50-60' } },
  { path: '/sub' },
  { path: '/sub/style.css' },
  { path: '/missing' },
  { path: '/../etc/passwd' },
];

/** A request whose ETag and Last-Modified come from a first answer, to get 304s. */
async function conditional(port: number): Promise<Response[]> {
  const first = await http(port, '/index.html');
  return Promise.all([
    http(port, '/index.html', { headers: { 'If-None-Match': String(first.headers.etag) } }),
    http(port, '/index.html', { headers: { 'If-Modified-Since': String(first.headers['last-modified']) } }),
  ]);
}

/** The raw first line and body of an HTTP/1.0 request, and of a malformed one. */
async function rawAnswers(port: number): Promise<string[]> {
  const old = await raw(port, ['GET / HTTP/1.0\r\n\r\n']);
  const bad = await raw(port, ['GET / HTTP/1.1\r\nHost a\r\n\r\n']);
  return [
    `${old.text.split('\r\n')[0]} | ${old.text.split('\r\n\r\n')[1]} | closed=${old.closedByServer}`,
    `${bad.text.split('\r\n')[0]} | closed=${bad.closedByServer}`,
  ];
}

/** Every probe against one server: what it answered, and how many requests that made. */
async function answers(server: RunningServer, resource: string) {
  const probes = resource === 'file' ? [...COMMON, ...FILE_ONLY] : COMMON;
  const out: unknown[] = [];
  for (const probe of probes) out.push(comparable(await http(server.port, probe.path, probe)));
  let requests = probes.length;
  if (resource === 'file') {
    out.push(...(await conditional(server.port)).map(comparable));
    requests += 3;
  }
  out.push(...(await rawAnswers(server.port)));
  requests += 2;
  return { out, requests };
}

function statsFileFor(name: string): string {
  return join(dir, `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
}

async function start(engine: string, accept: string, resource: string, stats: string) {
  return startServer([
    ...['--engine', engine, '--accept', accept, '--resource', resource, '--workers', '2'],
    ...(resource === 'file' ? ['--root', root] : ['--payload', '5000']),
    ...['--stats-file', stats, '--interval', '0', '--silence'],
  ]);
}

/** Counters from a fresh snapshot (SIGUSR2) once they count at least `requests`. */
async function counters(server: RunningServer, stats: string, requests: number) {
  return waitFor(
    async () => {
      process.kill(server.masterPid, 'SIGUSR2');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const s = await readStats(stats).catch(() => undefined);
      if (s === undefined) return undefined;
      const total = {
        requests: s.workers.reduce((n, w) => n + w.requests, 0),
        connections: s.workers.reduce((n, w) => n + w.connections, 0),
      };
      return total.requests >= requests ? total : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: `a snapshot counting ${requests} requests` },
  );
}

describe('--engine http serves what --engine net serves', () => {
  it.each(['shared', 'reuseport', 'rr'])(
    'every resource in --accept %s: same status, headers and body; counters count',
    async (accept) => {
      for (const resource of ['fixed', 'data', 'file']) {
        const netStats = statsFileFor(`net-${accept}-${resource}`);
        const httpStats = statsFileFor(`http-${accept}-${resource}`);
        const [net, node] = await Promise.all([
          start('net', accept, resource, netStats),
          start('http', accept, resource, httpStats),
        ]);
        expect(node.readyLine).toContain(`accept=${accept}, resource=${resource}`);
        // node:http has no sendfile: the ready line says how responses go out.
        expect(node.readyLine).toContain('send=write');
        const fromNet = await answers(net, resource);
        const fromHttp = await answers(node, resource);
        expect(fromHttp.out).toEqual(fromNet.out);
        expect(fromHttp.out.length).toBeGreaterThan(6);
        const netCount = await counters(net, netStats, fromNet.requests);
        const httpCount = await counters(node, httpStats, fromHttp.requests);
        expect(httpCount).toEqual(netCount);
        expect(httpCount.requests).toBe(fromHttp.requests);
        // One connection per request (no agent), 3 of them raw.
        expect(httpCount.connections).toBe(fromHttp.requests);
        await cleanupServers();
      }
    },
    120_000,
  );
});

function keepAliveConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (text.endsWith('*'.repeat(40))) resolve(socket);
    });
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
  });
}

describe('--engine http stops cleanly', () => {
  it('on SIGTERM: idle keep-alive connections close, a busy one gets its answer with close, all exit 0', async () => {
    const stats = statsFileFor('stop');
    const server = await startServer([
      ...['--engine', 'http', '--workers', '2', '--resource', 'fixed'],
      ...['--stats-file', stats, '--interval', '0', '--silence'],
    ]);
    const workers = await server.workerPids();
    expect(workers).toHaveLength(2);
    const idle = await keepAliveConnection(server.port);
    const idleClosed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    // Half a request head before the signal, the rest after: answered, then closed.
    const busy = connect(server.port, '127.0.0.1');
    let answer = '';
    busy.on('data', (d) => (answer += d.toString('latin1')));
    busy.on('error', () => {});
    const busyClosed = new Promise<void>((resolve) => busy.on('close', () => resolve()));
    await new Promise<void>((resolve) => busy.on('connect', () => resolve()));
    busy.write('GET / HTTP/1.1\r\nHost: a\r\n');
    // The worker has read the half head (not merely been sent it) before the signal.
    await waitForServerRead(server.port);

    const startedAt = Date.now();
    server.child.kill('SIGTERM');
    await idleClosed;
    busy.write('\r\n');
    const exit = await server.exited;
    await busyClosed;
    // Far below the 75 s keep-alive timeout: the stop did not wait for the idle client.
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(exit.code).toBe(0);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    await waitAllGone([server.masterPid, ...workers], 'the master and its workers to exit after SIGTERM');
    const final = await readStats(stats);
    expect(final.event).toBe('stopped');
    expect(final.workers.reduce((n, w) => n + w.requests, 0)).toBe(2);
  }, 30_000);
});

describe('--engine http timeouts', () => {
  it('answers a request head that never ends with the same 408 as net, and closes', async () => {
    const answers: string[] = [];
    for (const engine of ['net', 'http']) {
      const server = await startServer([
        ...['--engine', engine, '--workers', '1', '--resource', 'fixed'],
        ...['--header-timeout', '0.3', '--silence'],
      ]);
      const startedAt = Date.now();
      const answer = await raw(server.port, ['GET / HTTP/1.1\r\nHost: a\r\n'], { timeoutMs: 5000 });
      expect(answer.closedByServer, engine).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(5000);
      const [head, body] = answer.text.split('\r\n\r\n');
      answers.push(
        `${head
          ?.split('\r\n')
          .filter((line) => !/^(date|connection|keep-alive):/i.test(line))
          .join('|')} ${body}`,
      );
    }
    expect(answers[0]).toMatch(/^HTTP\/1\.1 408 Request Timeout\|/);
    expect(answers[1]).toBe(answers[0]);
  }, 60_000);
});

describe('splitResponse', () => {
  it('takes a built response apart into status, header list and body, leaving Connection to node', () => {
    const built = buildResponse(
      206,
      'Content-Type: text/plain\r\nContent-Range: bytes 0-1/9\r\n',
      2,
      Buffer.from('ab'),
      2,
    );
    const parts = splitResponse(built);
    expect(parts.status).toBe(206);
    expect(parts.statusText).toBe('Partial Content');
    expect(parts.headers).toEqual([
      'Server',
      'scaleup',
      'Date',
      expect.stringMatching(/GMT$/),
      'Content-Type',
      'text/plain',
      'Content-Range',
      'bytes 0-1/9',
      'Content-Length',
      '2',
    ]);
    expect(parts.body.toString()).toBe('ab');
    expect(splitResponse(buildResponse(304, '', 40, null, KEEP_ALIVE_11)).body.length).toBe(0);
    expect(() => splitResponse(Buffer.from('HTTP/1.1 200 OK\r\n'))).toThrow(/blank line/);
  });
});
