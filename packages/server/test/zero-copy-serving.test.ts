import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerStatsFile, ServerStatsFileSchema } from '@scaleup/core';
import { waitFor } from '@scaleup/core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZeroCopyAddon } from '../src/zero-copy-build.ts';
import { cleanupServers, http, type RunningServer, sleep, startServer } from './helpers.ts';

function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed) % 253;
  return out;
}

async function statsOf(path: string): Promise<ServerStatsFile> {
  return ServerStatsFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}

/** Waits for a snapshot that has counted at least `requests` requests. */
async function statsAfter(path: string, requests: number): Promise<ServerStatsFile> {
  return waitFor(
    async () => {
      const stats = await statsOf(path).catch(() => undefined);
      const served = stats?.workers.reduce((sum, w) => sum + w.requests, 0) ?? 0;
      return stats !== undefined && served >= requests ? stats : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: `a stats snapshot with ${requests} requests` },
  );
}

const zeroCopied = (stats: ServerStatsFile) => stats.workers.reduce((sum, w) => sum + w.zeroCopyResponses, 0);

/** GET over a raw connection whose reader sleeps first, so the socket buffer fills mid-response. */
function slowGet(port: number, path: string, pauseMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.pause();
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      setTimeout(() => socket.resume(), pauseMs);
    });
  });
}

function bodyOf(response: Buffer): Buffer {
  return response.subarray(response.indexOf('\r\n\r\n') + 4);
}

/**
 * Responses sent with sendfile from memfds must be the very bytes write() would have sent, keep
 * every static-file behaviour, and follow changes on disk; and the fallback must stay whole.
 */
describe('serving with zero-copy sends', () => {
  let base: string;
  let root: string;
  let statsPath: string;
  let server: RunningServer;
  const medium = pattern(10_000, 1);
  const large = pattern(12 * 1024 * 1024 + 5, 2);

  beforeAll(async () => {
    await buildZeroCopyAddon();
    base = await mkdtemp(join(tmpdir(), 'scaleup-zero-copy-test-'));
    root = join(base, 'www');
    await mkdir(root);
    await writeFile(join(root, 'medium.bin'), medium);
    await writeFile(join(root, 'large.bin'), large);
    await writeFile(join(root, 'small.txt'), '*'.repeat(40));
    await writeFile(join(root, 'changing.bin'), pattern(10_000, 3));
    statsPath = join(base, 'stats.json');
    server = await startServer([
      '--workers',
      '2',
      '--root',
      root,
      '--silence',
      '--interval',
      '0.1',
      '--stats-file',
      statsPath,
    ]);
  });

  afterAll(async () => {
    await cleanupServers();
    await rm(base, { recursive: true, force: true });
  });

  it('says in the ready line and the stats file that large responses go out with sendfile', async () => {
    expect(server.readyLine).toContain('send=sendfile from 4096 B');
    const stats = await statsOf(statsPath);
    expect(stats.send).toBe('auto');
    expect(stats.zeroCopy).toEqual({ active: true, minBytes: 4096, note: null });
  });

  it('sends the exact bytes of a 10 kB file, and counts those sends', async () => {
    const before = zeroCopied(await statsAfter(statsPath, 0));
    const responses = await Promise.all(Array.from({ length: 12 }, () => http(server.port, '/medium.bin')));
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('10000');
      expect(res.body.equals(medium)).toBe(true);
    }
    const stats = await waitFor(
      async () => {
        const s = await statsOf(statsPath).catch(() => undefined);
        return s !== undefined && zeroCopied(s) >= before + 12 ? s : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: 'the zero-copy count to include 12 sends' },
    );
    expect(zeroCopied(stats)).toBeGreaterThanOrEqual(before + 12);
  });

  it('keeps small responses, ranges, HEAD and 304 on write() with the right bytes', async () => {
    const small = await http(server.port, '/small.txt');
    expect(small.body.toString()).toBe('*'.repeat(40));
    const part = await http(server.port, '/medium.bin', { headers: { Range: 'bytes=5000-9999' } });
    expect(part.status).toBe(206);
    expect(part.body.equals(medium.subarray(5000))).toBe(true);
    const head = await http(server.port, '/medium.bin', { method: 'HEAD' });
    expect(head.headers['content-length']).toBe('10000');
    expect(head.body.length).toBe(0);
    const etag = String(head.headers.etag);
    const notModified = await http(server.port, '/medium.bin', { headers: { 'If-None-Match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
  });

  it('finishes a 12 MiB response whole for a client that reads late (socket buffer full mid-send)', async () => {
    // Twice: once to cache the file's response, once sent from its memfd.
    for (let i = 0; i < 2; i++) {
      const response = await slowGet(server.port, '/large.bin', 300);
      expect(response.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK');
      expect(bodyOf(response).equals(large)).toBe(true);
    }
  });

  it('serves a 10 kB file rewritten in place with its new content', async () => {
    const before = await Promise.all(Array.from({ length: 8 }, () => http(server.port, '/changing.bin')));
    expect(before.every((r) => r.body.equals(pattern(10_000, 3)))).toBe(true);
    // A later modification time, so the validators must change.
    await sleep(20);
    const next = pattern(10_000, 4);
    await writeFile(join(root, 'changing.bin'), next);
    // Noticed within 100 ms on an idle machine; a loaded one may take longer.
    const after = await waitFor(
      async () => {
        const all = await Promise.all(Array.from({ length: 8 }, () => http(server.port, '/changing.bin')));
        return all.every((r) => r.body.equals(next)) ? all : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'every worker to serve the rewritten file' },
    );
    expect(after.every((r) => r.body.equals(next))).toBe(true);
    expect(after.every((r) => r.headers.etag !== before[0]!.headers.etag)).toBe(true);
  });
});

describe('serving with --send write, and the fixed resource', () => {
  let base: string;
  /** One worker serving 10240 `*` from memory, snapshotting its stats every 0.1 s. */
  const startFixed = (statsPath: string, extra: string[]) =>
    startServer([
      ...['--workers', '1', '--resource', 'fixed', '--payload', '10240', ...extra],
      ...['--silence', '--interval', '0.1', '--stats-file', statsPath],
    ]);

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'scaleup-zero-copy-test-'));
  });

  afterAll(async () => {
    await cleanupServers();
    await rm(base, { recursive: true, force: true });
  });

  it('writes everything with --send write and says so, with the same bytes', async () => {
    const statsPath = join(base, 'write.json');
    const server = await startFixed(statsPath, ['--send', 'write']);
    expect(server.readyLine).toContain('send=write');
    const responses = await Promise.all(Array.from({ length: 5 }, () => http(server.port, '/')));
    expect(responses.every((r) => r.body.equals(Buffer.alloc(10240, '*')))).toBe(true);
    const stats = await statsAfter(statsPath, 5);
    expect(stats.send).toBe('write');
    expect(stats.zeroCopy.active).toBe(false);
    expect(zeroCopied(stats)).toBe(0);
  });

  it('sends the 10 kB fixed resource from a memfd in auto mode', async () => {
    const statsPath = join(base, 'auto.json');
    const server = await startFixed(statsPath, []);
    const responses = await Promise.all(Array.from({ length: 5 }, () => http(server.port, '/')));
    expect(responses.every((r) => r.body.equals(Buffer.alloc(10240, '*')))).toBe(true);
    expect(responses.every((r) => r.headers['content-type'] === undefined)).toBe(true);
    const stats = await statsAfter(statsPath, 5);
    expect(zeroCopied(stats)).toBe(5);
  });
});
