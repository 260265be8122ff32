import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadSpec, parseResults, type RepetitionLoad } from '@scaleup/core';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  type NetnsLab,
  netnsSkipReason,
  type TestNamespace,
} from '../../hosts/test/support/netns.ts';
import { remoteLoadPort } from '../src/remote-load.ts';
import { REPO_DIR, scaleupCliCommand } from '../src/servers.ts';
import { type PreparedHosts, prepareHosts } from '../src/steps/prepare-hosts.ts';

/**
 * openloop on hosts that have only ssh, node and the tools: the checkout is hidden from their
 * sshd, so the generator there is the one shipped with the bundle or the one built there from
 * its source. The server is a plain node:http server in this process, reached over the veth.
 */
const skip = netnsSkipReason();
const BARE = { hide: [REPO_DIR, '/usr/lib/node_modules', '/root'] };
const RATE = 300;
const SECONDS = 1.5;
let lab: NetnsLab;
let server: Server;
let port = 0;
let served = 0;
const BODY = Buffer.alloc(64, 'x');

beforeAll(async () => {
  if (skip !== null) return;
  server = createServer((_req, res) => {
    served += 1;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  port = (server.address() as AddressInfo).port;
  // /usr/bin/cc and gcc lead to the same compiler: the bind over one masks both.
  lab = await createLab([BARE, BARE, { ...BARE, mask: ['/usr/bin/cc', '/usr/bin/gcc'] }]);
}, 120_000);
afterAll(async () => {
  try {
    lab?.teardown();
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
});

function prepare(ns: TestNamespace, tool?: 'openloop'): Promise<PreparedHosts> {
  return prepareHosts({
    loadHosts: [ns.alias],
    serverHost: null,
    sshConfig: lab.sshConfig,
    connections: 4,
    needNginx: false,
    ...(tool === undefined ? {} : { tool }),
  });
}

/** A short open-loop load from the prepared host against the server here. */
async function openLoopRun(prepared: PreparedHosts): Promise<RepetitionLoad> {
  const info = prepared.loadTools?.find((t) => t.name === 'openloop');
  expect(info?.missing ?? null).toBeNull();
  const port_ = remoteLoadPort({ hosts: prepared.load!, tool: 'openloop', version: info!.version ?? '?' });
  const spec: LoadSpec = {
    url: `http://127.0.0.1:${port}/`,
    durationSeconds: SECONDS,
    connections: 4,
    threads: 1,
    keepAlive: true,
    method: 'GET',
    headers: {},
    timeoutSeconds: 20,
    expectedBodyBytes: BODY.length,
    ratePerSecond: RATE,
    maxConnections: 64,
  };
  port_.validate(spec);
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-openloop-host-'));
  try {
    const before = served;
    const load = await port_.run(spec, {
      rawOutputPath: join(dir, 'raw.txt'),
      signal: new AbortController().signal,
    });
    // The server's own count: every response the tool counts as succeeded was served here.
    expect(served - before).toBeGreaterThanOrEqual(load.requests.succeeded);
    return load;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function expectOpenLoop(load: RepetitionLoad): void {
  expect(load.errors).toEqual([]);
  expect(load.requests.failed + load.requests.errored).toBe(0);
  // The schedule is fixed: the planned count is the rate times the duration.
  expect(load.requests.succeeded).toBe(Math.round(RATE * SECONDS));
  expect(load.openLoop?.offeredPerSecond).toBeCloseTo(RATE, 0);
  expect(load.latency.measuredFrom).toBe('intended-send');
}

const withNative = async <T>(mode: string, body: () => Promise<T>): Promise<T> => {
  const before = process.env.SCALEUP_BUNDLE_NATIVE;
  process.env.SCALEUP_BUNDLE_NATIVE = mode;
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env.SCALEUP_BUNDLE_NATIVE;
    else process.env.SCALEUP_BUNDLE_NATIVE = before;
  }
};

describe.skipIf(skip !== null)(`openloop on bare hosts${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  it('a host of this platform gets the build made here; a second run copies nothing', async () => {
    const ns = lab.namespaces[0]!;
    const timings: string[] = [];
    const copied: number[] = [];
    for (const round of ['cold', 'warm']) {
      const started = performance.now();
      const prepared = await prepare(ns, 'openloop');
      try {
        const ready = performance.now();
        expectOpenLoop(await openLoopRun(prepared));
        const code = prepared.environments[0]!.code!;
        expect(code.kind).toBe('bundle');
        expect(code.note ?? '').not.toContain('built on the host');
        const tool = prepared.environments[0]!.tools.find((t) => t.name === 'openloop');
        expect(tool).toMatchObject({ path: `${prepared.load![0]!.bundle!.dir}/openloop`, missing: null });
        copied.push(code.copiedBytes ?? -1);
        timings.push(
          `${round}: hosts ready in ${((ready - started) / 1000).toFixed(2)} s, copied ${code.copiedBytes} bytes, load done at ${((performance.now() - started) / 1000).toFixed(2)} s`,
        );
      } finally {
        await prepared.close();
      }
    }
    expect(copied[0]).toBeGreaterThan(100_000);
    expect(copied[1]).toBe(0);
    console.log(timings.join('\n'));
  }, 180_000);

  it('SCALEUP_BUNDLE_NATIVE=build: openloop is compiled on the host from the shipped source, once, and runs', async () => {
    const ns = lab.namespaces[1]!;
    await withNative('build', async () => {
      const first = await prepare(ns, 'openloop');
      let builtAt: number;
      try {
        const code = first.environments[0]!.code!;
        expect(code.note).toMatch(
          /openloop built on the host \(x64-glibc|openloop built on the host \(\w+-\w+/,
        );
        const path = first.load![0]!.bundle!.openloop!;
        expect(path).toMatch(/^\/root\/\.cache\/scaleup\/native\/[0-9a-f]{64}\/openloop$/);
        // Not shipped: the bundle on the host has no openloop of this machine's.
        expect(first.load![0]!.bundle!.dir).not.toBe(path.replace(/\/openloop$/, ''));
        builtAt = statSync(`/proc/${ns.sshdPid}/root${path}`).mtimeMs;
        expectOpenLoop(await openLoopRun(first));
      } finally {
        await first.close();
      }
      const second = await prepare(ns, 'openloop');
      try {
        const path = second.load![0]!.bundle!.openloop!;
        expect(statSync(`/proc/${ns.sshdPid}/root${path}`).mtimeMs).toBe(builtAt);
        expect(second.environments[0]!.code!.copiedBytes).toBe(0);
      } finally {
        await second.close();
      }
    });
  }, 240_000);

  it('no C compiler and no matching build: --tool openloop is a host problem with the install line', async () => {
    const ns = lab.namespaces[2]!;
    await withNative('build', async () => {
      const forced = await prepare(ns, 'openloop').then(
        async (p) => {
          await p.close();
          return null;
        },
        (error: Error) => error,
      );
      expect(forced?.message).toContain(
        `${ns.alias}: no openloop (a build there: no C compiler (cc or gcc) there)`,
      );
      expect(forced?.message).toContain(
        `${ns.alias}: install what is missing there with: apt-get install -y gcc libc6-dev zlib1g-dev`,
      );
      // Without --tool it only leaves the tool choice, with the reason.
      const chosen = await prepare(ns);
      try {
        const info = chosen.loadTools?.find((t) => t.name === 'openloop');
        expect(info?.missing).toContain('no C compiler');
        expect(chosen.loadTools?.find((t) => t.name === 'wrk')?.missing).toBeNull();
      } finally {
        await chosen.close();
      }
    });
    // Same platform as here: the shipped build needs no compiler there.
    const shipped = await prepare(ns, 'openloop');
    try {
      expect(shipped.loadTools?.find((t) => t.name === 'openloop')?.missing).toBeNull();
    } finally {
      await shipped.close();
    }
    await expect(withNative('sometimes', () => prepare(ns))).rejects.toThrow(
      /SCALEUP_BUNDLE_NATIVE must be 'auto' or 'build'/,
    );
  }, 180_000);

  it('the server host builds the zero-copy addon there and the server loads it; without cc it writes and says so', async () => {
    const [load, withCc, noCc] = lab.namespaces as [TestNamespace, TestNamespace, TestNamespace];
    const out = await mkdtemp(join(tmpdir(), 'scaleup-addon-host-'));
    try {
      const cli = scaleupCliCommand([
        ...['bench', '--profile', 'smoke', '--only', '2a', '--reps', '1', '--no-report', '--tool', 'wrk'],
        ...['--ssh-config', lab.sshConfig, '--server-host', withCc.alias, '--load-host', load.alias],
        ...['--out', out],
      ]);
      const run = await execa(cli.file, cli.args, {
        reject: false,
        timeout: 240_000,
        env: { SCALEUP_BUNDLE_NATIVE: 'build' },
      });
      expect(run.exitCode, run.stderr).toBe(0);
      const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
      const server = results.hosts.find((h) => h.name === withCc.alias)!;
      expect(server.code?.zeroCopyAddon).toBe(true);
      expect(server.code?.note).toMatch(/zerocopy\.node built on the host/);
      const scenario = results.scenarios[0]!;
      expect(scenario.server.kind === 'scaleup' && scenario.server.zeroCopy).toBe(true);
      expect(scenario.repetitions[0]?.verdict.reasons).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    await withNative('build', async () => {
      const prepared = await prepareHosts({
        loadHosts: [load.alias],
        serverHost: noCc.alias,
        sshConfig: lab.sshConfig,
        connections: 4,
        needNginx: false,
      });
      try {
        const code = prepared.environments.find((e) => e.name === noCc.alias)!.code!;
        expect(code.zeroCopyAddon).toBe(false);
        expect(code.note).toContain('no zero-copy addon (a build there: no C compiler (cc or gcc) there)');
        expect(code.note).toContain('the server writes every response');
      } finally {
        await prepared.close();
      }
    });
  }, 300_000);
});
