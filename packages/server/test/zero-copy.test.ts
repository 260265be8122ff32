import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZERO_COPY_MIN_BYTES } from '@scaleup/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  loadZeroCopy,
  socketFd,
  type ZeroCopyAddon,
  type ZeroCopyLimits,
  ZeroCopySender,
} from '../src/zero-copy.ts';
import {
  buildZeroCopyAddon,
  compilerArgs,
  compilerCommand,
  ZERO_COPY_ADDON,
} from '../src/zero-copy-build.ts';

const EBADF = -9;

function pattern(length: number, seed = 0): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) % 251;
  return out;
}

/** A connected loopback pair: `server` is the accepted side we send on, `client` reads. */
async function socketPair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  let listener: Server | undefined;
  const accepted = new Promise<Socket>((resolve) => {
    listener = createServer(resolve);
  });
  await new Promise<void>((resolve) => listener!.listen(0, '127.0.0.1', resolve));
  const client = connect((listener!.address() as AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  return {
    server,
    client,
    close: () => {
      server.destroy();
      client.destroy();
      listener!.close();
    },
  };
}

function collect(client: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= length) {
        client.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    client.on('data', onData);
    client.once('error', reject);
  });
}

let addon: ZeroCopyAddon;
/** Sockets, listeners and senders a test opened, closed after it even when it fails. */
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  await buildZeroCopyAddon();
  const load = loadZeroCopy();
  if (load.addon === null) throw new Error(load.note);
  addon = load.addon;
});

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('zero-copy addon', () => {
  it('copies a buffer into a memfd once, byte for byte, and closes it', () => {
    const bytes = pattern(10_000);
    const fd = addon.memfdFrom(bytes);
    expect(fd).toBeGreaterThan(2);
    expect(readFileSync(`/proc/self/fd/${fd}`).equals(bytes)).toBe(true);
    expect(addon.closeFd(fd)).toBe(0);
    expect(addon.closeFd(fd)).toBe(EBADF);
  });

  it('returns a negative errno instead of throwing on bad arguments', () => {
    expect(addon.sendFile(-1, -1, 0, 10)).toBe(EBADF);
    expect(addon.sendFile(1, 1, -5, 10)).toBeLessThan(0);
    expect((addon.memfdFrom as (x: unknown) => number)('not a buffer')).toBeLessThan(0);
    expect((addon.closeFd as (x: unknown) => number)('x')).toBeLessThan(0);
  });

  it('sends a memfd through a real TCP socket: the peer gets exactly the bytes', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    const bytes = pattern(10_240, 7);
    const fd = addon.memfdFrom(bytes);
    cleanups.push(() => addon.closeFd(fd));
    const received = collect(pair.client, bytes.length);
    expect(addon.sendFile(socketFd(pair.server), fd, 0, bytes.length)).toBe(bytes.length);
    expect((await received).equals(bytes)).toBe(true);
  });

  it('stops short without blocking when the peer does not read, and the rest can follow', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    pair.client.pause();
    const bytes = pattern(32 * 1024 * 1024, 3);
    const fd = addon.memfdFrom(bytes);
    cleanups.push(() => addon.closeFd(fd));
    const started = performance.now();
    const sent = addon.sendFile(socketFd(pair.server), fd, 0, bytes.length);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(bytes.length);
    const received = collect(pair.client, bytes.length);
    pair.client.resume();
    pair.server.write(bytes.subarray(sent));
    expect((await received).equals(bytes)).toBe(true);
  });
});

/** Small limits for tests: every size is sent, nothing goes idle unless a test says so. */
function limits(overrides: Partial<ZeroCopyLimits>): ZeroCopyLimits {
  return { minBytes: 1, maxEntries: 100, maxBytes: 1 << 20, idleMs: 60_000, ...overrides };
}

describe('ZeroCopySender', () => {
  it('sends only sizes worth it: from 4 KiB up to a quarter of its budget', () => {
    const sender = new ZeroCopySender(addon, limits({ minBytes: ZERO_COPY_MIN_BYTES, maxEntries: 4 }));
    expect(sender.eligible(ZERO_COPY_MIN_BYTES - 1)).toBe(false);
    expect(sender.eligible(ZERO_COPY_MIN_BYTES)).toBe(true);
    expect(sender.eligible(256 * 1024)).toBe(true);
    expect(sender.eligible(256 * 1024 + 1)).toBe(false);
  });

  it('makes one memfd per response, reuses it, and closes the oldest beyond its limits', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    const sender = new ZeroCopySender(addon, limits({ maxEntries: 2 }));
    cleanups.push(() => sender.close());
    const responses = [pattern(5000, 1), pattern(6000, 2), pattern(7000, 3)];
    const fd = socketFd(pair.server);
    const total = 5000 * 2 + 6000 + 7000;
    const received = collect(pair.client, total);
    const before = responseMemfds();
    expect(sender.send(fd, responses[0]!)).toBe(5000);
    expect(sender.send(fd, responses[0]!)).toBe(5000);
    expect(sender.openFiles).toBe(1);
    expect(responseMemfds()).toBe(before + 1);
    expect(sender.send(fd, responses[1]!)).toBe(6000);
    expect(sender.send(fd, responses[2]!)).toBe(7000);
    expect(sender.openFiles).toBe(2);
    // The first was closed, not leaked.
    expect(responseMemfds()).toBe(before + 2);
    expect(sender.responses).toBe(4);
    expect(
      (await received).equals(Buffer.concat([responses[0]!, responses[0]!, responses[1]!, responses[2]!])),
    ).toBe(true);
    sender.close();
    expect(sender.openFiles).toBe(0);
  });

  it('evicts by total size too, and never the response it is sending', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    const sender = new ZeroCopySender(addon, limits({ maxBytes: 10_000 }));
    cleanups.push(() => sender.close());
    const received = collect(pair.client, 12_000);
    expect(sender.send(socketFd(pair.server), pattern(6000, 1))).toBe(6000);
    expect(sender.send(socketFd(pair.server), pattern(6000, 2))).toBe(6000);
    expect(sender.openFiles).toBe(1);
    await received;
  });

  it('closes memfds of responses not sent for a while, when it makes the next one', async () => {
    const pair = await socketPair();
    cleanups.push(pair.close);
    let now = 1_000_000;
    const sender = new ZeroCopySender(addon, limits({ idleMs: 3000 }), () => now);
    cleanups.push(() => sender.close());
    const fd = socketFd(pair.server);
    const received = collect(pair.client, 4 * 5000);
    const [old, kept, next] = [pattern(5000, 1), pattern(5000, 2), pattern(5000, 3)];
    sender.send(fd, old);
    now += 2000;
    sender.send(fd, kept);
    now += 1500;
    // `old` was last sent 3.5 s ago, `kept` 1.5 s ago: making `next`'s memfd closes only `old`'s.
    sender.send(fd, next);
    expect(sender.openFiles).toBe(2);
    sender.send(fd, kept);
    expect(sender.openFiles).toBe(2);
    await received;
  });

  it('reports a closed socket as a negative errno, not an exception', () => {
    const sender = new ZeroCopySender(addon, limits({ maxEntries: 2 }));
    cleanups.push(() => sender.close());
    expect(sender.send(-1, pattern(5000))).toBe(EBADF);
    expect(sender.responses).toBe(0);
  });
});

/** How many of this process's descriptors are response memfds. */
function responseMemfds(): number {
  let count = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`).startsWith('/memfd:scaleup-response')) count++;
    } catch {
      // Closed while listing (the directory's own descriptor).
    }
  }
  return count;
}

describe('loading and building the addon', () => {
  it('says how to build it when it is missing', () => {
    const load = loadZeroCopy(join(tmpdir(), 'no-such-dir', 'zerocopy.node'));
    expect(load.addon).toBeNull();
    expect(load.note).toBe('zero-copy addon not built (pnpm build:native)');
  });

  it('compiles warning-free C with the Node-API headers into the given file', () => {
    const args = compilerArgs('/tmp/out.node', '/inc');
    expect(args).toEqual(
      expect.arrayContaining(['-Werror', '-shared', '-fPIC', '-I/inc', '-o', '/tmp/out.node']),
    );
    expect(args.at(-1)).toMatch(/native\/zerocopy\.c$/);
    expect(compilerCommand({})).toBe('cc');
    expect(compilerCommand({ CC: ' clang ' })).toBe('clang');
  });

  it('keeps the working addon when a rebuild fails, and names the missing compiler', async () => {
    await buildZeroCopyAddon();
    const before = readFileSync(ZERO_COPY_ADDON);
    const saved = process.env.CC;
    process.env.CC = '/nonexistent/cc';
    try {
      await expect(buildZeroCopyAddon({ force: true })).rejects.toThrow(
        "cannot build the zero-copy addon: no C compiler '/nonexistent/cc' (apt-get install gcc libc6-dev)",
      );
    } finally {
      if (saved === undefined) delete process.env.CC;
      else process.env.CC = saved;
    }
    expect(readFileSync(ZERO_COPY_ADDON).equals(before)).toBe(true);
  });
});
