import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePort } from '@scaleup/core/io';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Host, preflightHost, sshHost } from '../src/index.ts';
import { AWKWARD } from './support/awkward.ts';
import { createLab, type NetnsLab, netnsSkipReason, type TestNamespace } from './support/netns.ts';
import { allAlive, netnsOf, OWN_HOST, startForker, waitGone } from './support/procs.ts';

const skip = netnsSkipReason();
if (skip !== null) console.warn(`ssh host tests skipped: ${skip}`);

/** Measured figures, printed at the end so a run documents how fast drops are noticed here. */
const measured: string[] = [];

describe.skipIf(skip !== null)(
  `ssh host over network namespaces${skip === null ? '' : ` (skipped: ${skip})`}`,
  () => {
    let lab: NetnsLab;
    /** sshd with ClientAliveInterval 1: both ends notice a cut link. */
    let a: TestNamespace;
    /** sshd with ClientAlive off (sshd's default): only the leader's heartbeat notices remotely. */
    let b: TestNamespace;
    let host: Host;

    beforeAll(async () => {
      lab = await createLab([{ clientAliveSeconds: 1 }, { clientAliveSeconds: 0 }]);
      [a, b] = lab.namespaces as [TestNamespace, TestNamespace];
      host = sshHost(a.alias, { sshConfig: lab.sshConfig });
    });

    afterAll(async () => {
      await host?.close();
      lab?.teardown();
      if (measured.length > 0) console.log(measured.join('\n'));
    });

    const linkDown = (ns: TestNamespace) => execFileSync('ip', ['link', 'set', ns.veth, 'down']);
    const linkUp = (ns: TestNamespace) => execFileSync('ip', ['link', 'set', ns.veth, 'up']);

    it('exec runs inside the namespace', async () => {
      const name = await host.exec('uname', ['-n']);
      expect(name).toEqual({ exitCode: 0, stdout: `${hostname()}\n`, stderr: '', timedOut: false });
      const ns = await host.exec('readlink', ['/proc/self/ns/net']);
      expect(ns.stdout.trim()).toBe(a.netnsId);
      expect(ns.stdout.trim()).not.toBe(netnsOf('self'));
      const failing = await host.exec('sh', ['-c', 'echo oops >&2; exit 5']);
      expect(failing).toMatchObject({ exitCode: 5, stderr: 'oops\n' });
    });

    it('hands every awkward argument to the remote command untouched', async () => {
      const result = await host.exec('printf', ['%s\\0', ...AWKWARD]);
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(AWKWARD);
    });

    it('multiplexes every call over one connection', async () => {
      const first = await host.describe();
      const started = Date.now();
      await host.exec('true', []);
      const second = await host.describe();
      // The same client port means the same TCP connection.
      expect(second.clientPort).toBe(first.clientPort);
      const controlPath = (host as unknown as { controlPath?: string }).controlPath;
      expect(controlPath !== undefined && existsSync(controlPath)).toBe(true);
      const check = await execa(
        'ssh',
        ['-F', lab.sshConfig, '-o', `ControlPath=${controlPath}`, '-O', 'check', a.alias],
        { reject: false },
      );
      expect(check.exitCode, check.stderr).toBe(0);
      measured.push(`[measure] exec + describe over the multiplexed connection: ${Date.now() - started} ms`);
    });

    it('describe() gives the addresses of both ends and a small clock offset', async () => {
      const facts = await host.describe();
      expect(facts).toMatchObject({
        name: a.alias,
        kind: 'ssh',
        hostname: hostname(),
        clientAddress: a.rootAddress,
        serverAddress: a.address,
        serverPort: 22,
        nodeVersion: process.version,
      });
      expect(facts.logicalCores).toBeGreaterThan(0);
      expect(facts.memoryBytes).toBeGreaterThan(0);
      expect(facts.cpuModel).not.toBeNull();
      // The same clock on both ends: the estimate must land within its own bound of zero.
      expect(Math.abs(facts.clockOffsetMs!)).toBeLessThanOrEqual(facts.clockUncertaintyMs! + 1);
      // Half a round trip over ssh: a few ms when idle, more on a loaded machine.
      expect(facts.clockUncertaintyMs).toBeLessThan(1000);
      measured.push(
        `[measure] clock offset ${facts.clockOffsetMs?.toFixed(2)} ± ${facts.clockUncertaintyMs?.toFixed(2)} ms`,
      );
    });

    it('readFile reads remote files and gives null for absent ones', async () => {
      const proc = host.spawn('sleep', ['30']);
      const pid = await proc.started;
      const stat = await host.readFile(`/proc/${pid}/stat`);
      expect(stat).toMatch(new RegExp(`^${pid} \\(sleep\\) `));
      expect(await host.readFile('/no/such/file')).toBeNull();
      await proc.stop();
    });

    it('exec stops a remote command at its deadline', async () => {
      const started = Date.now();
      const result = await host.exec('sh', ['-c', 'echo $$; exec sleep 30'], { timeoutMs: 2000 });
      expect(result.timedOut).toBe(true);
      // Far below the command's 30 s: the deadline stopped it.
      expect(Date.now() - started).toBeLessThan(20_000);
      await waitGone([Number(result.stdout.trim())], 10_000, 'the timed-out remote command');
    });

    it('spawn runs remotely and stop() kills the whole remote group', async () => {
      const { proc, pid, children } = await startForker((f, args) => host.spawn(f, args), ['2', 'stay']);
      expect(netnsOf(pid)).toBe(a.netnsId);
      for (const child of children) expect(netnsOf(child)).toBe(a.netnsId);
      const stderr: string[] = [];
      proc.stderr.on('line', (line) => stderr.push(line));
      const started = Date.now();
      await proc.stop(2000);
      await waitGone([pid, ...children], 10_000);
      measured.push(`[measure] remote stop(): ${Date.now() - started} ms`);
      expect(await proc.exited).toEqual({
        exitCode: null,
        signal: 'SIGTERM',
        lostConnection: false,
        error: null,
      });
      expect(stderr.some((line) => line.includes('@scaleup-leader'))).toBe(false);
    });

    it('spawn honours env, cwd, cpus, stdin and logPath remotely', async () => {
      const log = join(lab.dir, 'remote.log');
      await writeFile(log, 'before\n');
      const proc = host.spawn(
        'sh',
        [
          '-c',
          'echo "$GREETING in $(pwd)"; grep Cpus_allowed_list /proc/self/status; read l; echo "got:$l" >&2',
        ],
        { env: { GREETING: "it's me" }, cwd: '/tmp', cpus: [1], stdin: 'pipe', logPath: log },
      );
      await proc.started;
      proc.write('ping\n');
      expect((await proc.exited).exitCode).toBe(0);
      const lines = (await readFile(log, 'utf8')).split('\n');
      expect(lines[0]).toBe('before');
      expect(lines).toContain("it's me in /tmp");
      expect(lines.some((line) => /^Cpus_allowed_list:\s+1$/.test(line))).toBe(true);
      expect(lines).toContain('got:ping');
      expect(lines.some((line) => line.includes('@scaleup-leader'))).toBe(false);
    });

    it('a remote command whose workers linger: they die, exited resolves', async () => {
      const { proc, pid, children } = await startForker(
        (f, args) => host.spawn(f, args, { graceMs: 1000 }),
        ['2', 'exit'],
      );
      expect((await proc.exited).exitCode).toBe(0);
      await waitGone([pid, ...children], 10_000);
    });

    it('killing the local ssh client ends the remote command and reports lostConnection', async () => {
      const { proc, pid, children } = await startForker((f, args) => host.spawn(f, args), ['2', 'stay']);
      const client = proc.clientPid!;
      const started = Date.now();
      process.kill(client, 'SIGKILL');
      const exit = await proc.exited;
      const remoteMs = await waitGone([pid, ...children], 10_000, 'remote processes after the client died');
      measured.push(
        `[measure] ssh client killed: exited after ${Date.now() - started} ms, remote gone after ${remoteMs} ms`,
      );
      expect(exit.lostConnection).toBe(true);
      expect(exit.error).toMatch(new RegExp(`^host ${a.alias}: connection lost`));
    });

    it('a cut link: both ends notice within seconds (ServerAlive here, ClientAlive there)', async () => {
      const own = sshHost(a.alias, { sshConfig: lab.sshConfig });
      try {
        const { proc, pid, children } = await startForker((f, args) => own.spawn(f, args), ['2', 'stay']);
        const cut = Date.now();
        linkDown(a);
        try {
          const [exitedMs, remoteMs] = await Promise.all([
            proc.exited.then(() => Date.now() - cut),
            waitGone([pid, ...children], 15_000, 'remote processes behind the cut link'),
          ]);
          measured.push(
            `[measure] link cut (ClientAlive 1x3): lostConnection after ${exitedMs} ms, remote gone after ${remoteMs} ms`,
          );
          expect((await proc.exited).lostConnection).toBe(true);
          expect(exitedMs).toBeLessThan(10_000);
          expect(remoteMs).toBeLessThan(10_000);
        } finally {
          linkUp(a);
        }
        // The next call makes a new connection.
        const again = await own.exec('readlink', ['/proc/self/ns/net']);
        expect(again.stdout.trim()).toBe(a.netnsId);
      } finally {
        await own.close();
      }
    });

    it("a cut link to an sshd without ClientAlive: the leader's heartbeat ends the command", async () => {
      const own = sshHost(b.alias, { sshConfig: lab.sshConfig, heartbeatTimeoutMs: 3000 });
      try {
        const { proc, pid, children } = await startForker((f, args) => own.spawn(f, args), ['2', 'stay']);
        expect(netnsOf(pid)).toBe(b.netnsId);
        const cut = Date.now();
        linkDown(b);
        try {
          const [exitedMs, remoteMs] = await Promise.all([
            proc.exited.then(() => Date.now() - cut),
            waitGone([pid, ...children], 15_000, 'remote processes behind the cut link'),
          ]);
          measured.push(
            `[measure] link cut (no ClientAlive, heartbeat 3 s): lostConnection after ${exitedMs} ms, remote gone after ${remoteMs} ms`,
          );
          expect((await proc.exited).lostConnection).toBe(true);
          expect(remoteMs).toBeLessThan(10_000);
        } finally {
          linkUp(b);
        }
      } finally {
        await own.close();
      }
    });

    it('exited does not wait for a remote process that left the group and holds the channel', async () => {
      const { proc, children } = await startForker((f, args) => host.spawn(f, args), ['1', 'exit', 'escape']);
      try {
        const started = Date.now();
        expect((await proc.exited).exitCode).toBe(0);
        // The escaped child holds the channel for 1000 s: far below that, exited did not wait.
        expect(Date.now() - started).toBeLessThan(20_000);
      } finally {
        for (const pid of children) process.kill(pid, 'SIGKILL');
      }
    });

    it('SIGKILL of the process that owns an ssh Host ends its remote commands', async () => {
      const require = createRequire(import.meta.url);
      const owner = execa(
        process.execPath,
        ['--import', `file://${require.resolve('tsx/esm')}`, OWN_HOST, lab.sshConfig, a.alias],
        {
          reject: false,
          buffer: false,
        },
      );
      const report = await new Promise<{ clientPid: number; pid: number; children: number[] }>(
        (resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the owner did not report within 30 s')), 30_000);
          owner.stdout?.on('data', (chunk: Buffer) => {
            const line = chunk
              .toString()
              .split('\n')
              .find((l) => l.startsWith('{'));
            if (line) {
              clearTimeout(timer);
              resolve(JSON.parse(line));
            }
          });
        },
      );
      expect(netnsOf(report.pid)).toBe(a.netnsId);
      expect(await allAlive([report.pid, ...report.children])).toBe(true);
      const started = Date.now();
      owner.kill('SIGKILL');
      await owner;
      await waitGone(
        [report.clientPid, report.pid, ...report.children],
        10_000,
        'remote processes of the SIGKILLed owner',
      );
      measured.push(`[measure] owner SIGKILLed: remote gone after ${Date.now() - started} ms`);
      // Its control directory outlives it; the next Host to connect sweeps it.
      const leftovers = () => readdirSync(tmpdir()).filter((e) => e.startsWith(`scaleup-ssh-${owner.pid}-`));
      expect(leftovers()).toHaveLength(1);
      const next = sshHost(a.alias, { sshConfig: lab.sshConfig });
      await next.exec('true', []);
      await next.close();
      expect(leftovers()).toEqual([]);
    });

    it('preflight passes on a ready host and reports versions', async () => {
      const report = await preflightHost(host, { binaries: ['wrk', 'nginx'] });
      expect(report.problems).toEqual([]);
      expect(report.nodeVersion).toBe(process.version);
      expect(report.binaries.wrk?.version).toMatch(/wrk/);
      expect(report.binaries.nginx?.version).toMatch(/nginx version/);
    });

    it('preflight lists every problem of a reachable host at once', async () => {
      const bad = sshHost(a.alias, {
        sshConfig: lab.sshConfig,
        remoteDir: '/no/checkout',
        remoteNode: 'no-such-node',
      });
      try {
        const report = await preflightHost(bad, { binaries: ['wrk', 'no-such-tool'] });
        expect(report.problems).toEqual([
          `${a.alias}: no-such-node not found on PATH (non-interactive shell); install Node >= 20 there`,
          `${a.alias}: no scaleup checkout at /no/checkout (/no/checkout/packages/hosts/src/group-leader.mjs is missing); check it out there or pass remoteDir`,
          `${a.alias}: no-such-tool not found on PATH`,
        ]);
      } finally {
        await bad.close();
      }
    });

    for (const [suffix, expected] of [
      ['-badport', /ssh does not work \(.*(refused|closed).*\)/],
      ['-nokey', /ssh does not work \(.*Permission denied.*\)/],
      ['-void', /ssh does not work \(no answer within 2500 ms\)/],
    ] as const) {
      it(`preflight of a host that does not answer ssh (${suffix}) gives a problem within its deadline`, async () => {
        const bad = sshHost(`${a.alias}${suffix}`, { sshConfig: lab.sshConfig });
        try {
          const started = Date.now();
          const report = await preflightHost(bad, { binaries: ['wrk'], timeoutMs: 2500 });
          // ssh alone would wait minutes for an address that drops packets.
          expect(Date.now() - started).toBeLessThan(20_000);
          expect(report.problems).toHaveLength(1);
          expect(report.problems[0]).toMatch(expected);
          await expect(bad.exec('true', [], { timeoutMs: 2500 })).rejects.toThrow(`host ${a.alias}${suffix}`);
        } finally {
          await bad.close();
        }
      });
    }

    it('wrk runs over ssh inside the namespace against a server in the root namespace', async () => {
      let requests = 0;
      const body = Buffer.from('hello from the root namespace\n');
      const server = createServer((_req, res) => {
        requests += 1;
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      });
      const port = await allocatePort(a.rootAddress);
      await new Promise<void>((resolve) => server.listen(port, a.rootAddress, resolve));
      try {
        const result = await host.exec('wrk', ['-t1', '-c4', '-d2s', `http://${a.rootAddress}:${port}/`], {
          timeoutMs: 30_000,
        });
        expect(result.exitCode, result.stderr).toBe(0);
        const rate = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout);
        expect(rate, result.stdout).not.toBeNull();
        expect(requests).toBeGreaterThan(0);
        measured.push(`[measure] wrk over the veth: ${rate?.[1]} req/s`);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  },
);
