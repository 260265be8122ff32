import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@scaleup/core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupServers, http, type RunningServer, raw, sleep, startServer } from './helpers.ts';

/**
 * The file resource through real HTTP, against one real two-worker server over a fixture tree.
 */
describe('file resource over HTTP', () => {
  let base: string;
  let root: string;
  let server: RunningServer;
  const pattern = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const big = Buffer.alloc(17 * 1024 * 1024 + 3, 'b');

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'scaleup-server-test-'));
    root = join(base, 'www');
    await mkdir(join(root, 'docs'), { recursive: true });
    await mkdir(join(root, 'empty-dir'));
    await writeFile(join(root, 'index.html'), '<h1>hello</h1>');
    await writeFile(join(root, 'style.css'), 'body{}');
    await writeFile(join(root, 'data.bin'), pattern);
    await writeFile(join(root, 'big.bin'), big);
    await writeFile(join(root, 'docs', 'index.html'), 'docs index');
    await writeFile(join(root, 'in-place.txt'), 'version-1');
    await writeFile(join(root, 'renamed.txt'), 'old-content');
    await writeFile(join(base, 'secret.txt'), 'TOP SECRET');
    await symlink('/etc', join(root, 'link-out'));
    await symlink(join(base, 'secret.txt'), join(root, 'secret-link'));
    await symlink('index.html', join(root, 'inside-link.html'));
    server = await startServer(['--workers', '2', '--root', root, '--silence', '--interval', '0']);
  });

  afterAll(async () => {
    await cleanupServers();
    await rm(base, { recursive: true, force: true });
  });

  it('serves a file with type, length, validators and ranges advertised', async () => {
    const res = await http(server.port, '/index.html');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('<h1>hello</h1>');
    expect(res.headers['content-type']).toBe('text/html');
    expect(res.headers['content-length']).toBe('14');
    expect(res.headers.etag).toMatch(/^"[0-9a-z-]+"$/);
    expect(Date.parse(String(res.headers['last-modified']))).not.toBeNaN();
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(Date.parse(String(res.headers.date))).not.toBeNaN();
    expect((await http(server.port, '/style.css')).headers['content-type']).toBe('text/css');
    expect((await http(server.port, '/data.bin')).headers['content-type']).toBe('application/octet-stream');
    expect((await http(server.port, '/index.html?cache=bust')).body.toString()).toBe('<h1>hello</h1>');
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await http(server.port, '/index.html');
    const head = await http(server.port, '/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe('14');
    expect(head.headers.etag).toBe(get.headers.etag);
  });

  it('serves index.html for / and for a directory with a slash, and redirects without it', async () => {
    expect((await http(server.port, '/')).body.toString()).toBe('<h1>hello</h1>');
    expect((await http(server.port, '/docs/')).body.toString()).toBe('docs index');
    const redirect = await http(server.port, '/docs?x=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/docs/');
    expect((await http(server.port, '/empty-dir/')).status).toBe(404);
    expect((await http(server.port, '/index.html/')).status).toBe(404);
  });

  it('answers 404 for missing files and 405 with Allow for other methods', async () => {
    expect((await http(server.port, '/missing.html')).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await http(server.port, '/index.html', { method });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers conditional GETs with 304', async () => {
    const first = await http(server.port, '/index.html');
    const etag = String(first.headers.etag);
    const lastModified = String(first.headers['last-modified']);
    const byTag = await http(server.port, '/index.html', { headers: { 'If-None-Match': etag } });
    expect(byTag.status).toBe(304);
    expect(byTag.body.length).toBe(0);
    expect(byTag.headers.etag).toBe(etag);
    expect((await http(server.port, '/index.html', { headers: { 'If-None-Match': '"other"' } })).status).toBe(
      200,
    );
    expect(
      (await http(server.port, '/index.html', { headers: { 'If-Modified-Since': lastModified } })).status,
    ).toBe(304);
    const older = new Date(Date.parse(lastModified) - 10_000).toUTCString();
    expect((await http(server.port, '/index.html', { headers: { 'If-Modified-Since': older } })).status).toBe(
      200,
    );
    // If-None-Match wins over If-Modified-Since.
    expect(
      (
        await http(server.port, '/index.html', {
          headers: { 'If-None-Match': '"other"', 'If-Modified-Since': lastModified },
        })
      ).status,
    ).toBe(200);
  });

  it('serves single byte ranges with 206, refuses unsatisfiable ones with 416, and multi-ranges whole', async () => {
    const part = await http(server.port, '/data.bin', { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe('bytes 10-19/1000');
    expect(part.body).toEqual(pattern.subarray(10, 20));
    const suffix = await http(server.port, '/data.bin', { headers: { Range: 'bytes=-5' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body).toEqual(pattern.subarray(995));
    const open = await http(server.port, '/data.bin', { headers: { Range: 'bytes=990-' } });
    expect(open.headers['content-range']).toBe('bytes 990-999/1000');
    const unsatisfiable = await http(server.port, '/data.bin', { headers: { Range: 'bytes=1000-' } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe('bytes */1000');
    const multi = await http(server.port, '/data.bin', { headers: { Range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
    expect(multi.body).toEqual(pattern);
    const staleIfRange = await http(server.port, '/data.bin', {
      headers: { Range: 'bytes=0-1', 'If-Range': '"old"' },
    });
    expect(staleIfRange.status).toBe(200);
  });

  it('streams a file too large for the cache, whole and by range', async () => {
    const whole = await http(server.port, '/big.bin');
    expect(whole.status).toBe(200);
    expect(whole.body.length).toBe(big.length);
    expect(whole.body.equals(big)).toBe(true);
    const tail = await http(server.port, '/big.bin', { headers: { Range: `bytes=${big.length - 10}-` } });
    expect(tail.status).toBe(206);
    expect(tail.body.toString()).toBe('bbbbbbbbbb');
  });

  it('follows a symlink inside the root', async () => {
    expect((await http(server.port, '/inside-link.html')).body.toString()).toBe('<h1>hello</h1>');
  });

  it.each([
    '/../secret.txt',
    '/../../../../etc/passwd',
    '/%2e%2e/secret.txt',
    '/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
    '/%252e%252e/secret.txt',
    '/..%2fsecret.txt',
    '/docs/..%2f..%2fsecret.txt',
    '/..\\secret.txt',
    '/%5c..%5csecret.txt',
    '/%c0%ae%c0%ae/secret.txt',
    '/link-out/passwd',
    '/link-out/hostname',
    '/secret-link',
    '/index.html%00.txt',
    '/%00',
    'http://127.0.0.1/../secret.txt',
  ])('never reads outside the root: %s', async (target) => {
    const { text } = await raw(server.port, [
      `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    ]);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
    expect([400, 403, 404]).toContain(status);
    expect(text).not.toContain('TOP SECRET');
    expect(text).not.toContain('root:');
  });

  /** Asks often enough (new connections) that both workers answer; all must agree. */
  async function bodiesOf(path: string, count = 8) {
    return Promise.all(Array.from({ length: count }, () => http(server.port, path)));
  }

  /**
   * Asks until every answer passes `done`. A change is noticed within 100 ms on an idle machine
   * (inotify, and a re-stat every 40 ms); a loaded one may take longer, so this waits with a bound.
   */
  async function bodiesOnceChanged(path: string, done: (r: Awaited<ReturnType<typeof http>>) => boolean) {
    return waitFor(
      async () => {
        const all = await bodiesOf(path);
        return all.every(done) ? all : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: `every worker to serve the changed ${path}` },
    );
  }

  it('serves a file rewritten in place with its new content and validators', async () => {
    const before = await bodiesOf('/in-place.txt');
    expect(new Set(before.map((r) => r.body.toString()))).toEqual(new Set(['version-1']));
    // A later modification time, so the validators must change.
    await sleep(20);
    await writeFile(join(root, 'in-place.txt'), 'version-2');
    const after = await bodiesOnceChanged('/in-place.txt', (r) => r.body.toString() === 'version-2');
    expect(new Set(after.map((r) => r.body.toString()))).toEqual(new Set(['version-2']));
    expect(after.every((r) => r.headers.etag !== before[0]!.headers.etag)).toBe(true);
  });

  it('serves a file atomically replaced by rename with its new content', async () => {
    const before = await bodiesOf('/renamed.txt');
    expect(new Set(before.map((r) => r.body.toString()))).toEqual(new Set(['old-content']));
    await writeFile(join(root, '.renamed.tmp'), 'new-content-longer');
    await rename(join(root, '.renamed.tmp'), join(root, 'renamed.txt'));
    const after = await bodiesOnceChanged('/renamed.txt', (r) => r.body.toString() === 'new-content-longer');
    expect(new Set(after.map((r) => r.body.toString()))).toEqual(new Set(['new-content-longer']));
    expect(new Set(after.map((r) => r.headers['content-length']))).toEqual(new Set(['18']));
    expect(after.every((r) => r.headers.etag !== before[0]!.headers.etag)).toBe(true);
  });

  it('serves a file created after startup, and forgets a deleted one', async () => {
    expect((await http(server.port, '/later.txt')).status).toBe(404);
    await writeFile(join(root, 'later.txt'), 'here now');
    expect((await http(server.port, '/later.txt')).body.toString()).toBe('here now');
    await bodiesOf('/later.txt');
    await rm(join(root, 'later.txt'));
    const gone = await bodiesOnceChanged('/later.txt', (r) => r.status === 404);
    expect(new Set(gone.map((r) => r.status))).toEqual(new Set([404]));
  });
});
