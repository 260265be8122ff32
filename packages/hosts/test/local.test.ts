import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Host, localHost, preflightHost } from '../src/index.ts';
import { allAlive, OWN_HOST, pgidOf, startForker, waitGone } from './support/procs.ts';

let host: Host;
let dir: string;

beforeAll(async () => {
  host = localHost();
  dir = await mkdtemp(join(tmpdir(), 'scaleup-hosts-local-'));
});

afterAll(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local exec', () => {
  it('returns exit code, stdout and stderr apart, without throwing for a failure', async () => {
    const result = await host.exec('sh', ['-c', 'echo out; echo err >&2; exit 4']);
    expect(result).toEqual({ exitCode: 4, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  it('honours cwd and stops a command at its deadline', async () => {
    expect((await host.exec('pwd', [], { cwd: dir })).stdout.trim()).toBe(dir);
    const started = Date.now();
    const result = await host.exec('sh', ['-c', 'echo $$; exec sleep 30'], { timeoutMs: 800 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    // Far below the command's 30 s: the deadline stopped it.
    expect(Date.now() - started).toBeLessThan(20_000);
    await waitGone([Number(result.stdout.trim())], 10_000);
  });

  it('reports a missing command as exit 127 with a message', async () => {
    const result = await host.exec('no-such-command-here', []);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain('no-such-command-here: not found on PATH');
  });
});

describe('local spawn', () => {
  it('runs the command in its own group with env, cpus and stdin', async () => {
    const proc = host.spawn(
      'sh',
      ['-c', 'echo "$GREETING"; grep Cpus_allowed_list /proc/self/status; read l; echo "got:$l"'],
      {
        env: { GREETING: 'hello there' },
        cpus: [0],
        stdin: 'pipe',
      },
    );
    const lines: string[] = [];
    proc.stdout.on('line', (line) => lines.push(line));
    const pid = await proc.started;
    expect(pgidOf(pid)).toBe(pid);
    proc.write('ping\n');
    const exit = await proc.exited;
    expect(exit).toEqual({ exitCode: 0, signal: null, lostConnection: false, error: null });
    expect(lines[0]).toBe('hello there');
    expect(lines[1]).toMatch(/^Cpus_allowed_list:\s+0$/);
    expect(lines[2]).toBe('got:ping');
  });

  it('stop() kills the command and every grandchild holding its stdout', async () => {
    const { proc, pid, children } = await startForker((f, a) => host.spawn(f, a), ['3', 'stay']);
    expect(children).toHaveLength(3);
    expect(await allAlive([pid, ...children])).toBe(true);
    await proc.stop(2000);
    await waitGone([pid, ...children], 10_000);
    expect((await proc.exited).signal).toBe('SIGTERM');
  });

  it('KILLs after the grace what ignores TERM', async () => {
    const { proc, pid, children } = await startForker((f, a) => host.spawn(f, a), ['2', 'stay', 'stubborn']);
    const started = Date.now();
    await proc.stop(500);
    await waitGone([pid, ...children], 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    // The stubborn children would sleep 1000 s: far below that, the KILL came after the grace.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a command that exits while its workers linger: the workers die and exited resolves', async () => {
    const { proc, pid, children } = await startForker(
      (f, a) => host.spawn(f, a, { graceMs: 1000 }),
      ['2', 'exit'],
    );
    const exit = await Promise.race([
      proc.exited,
      new Promise((resolve) => setTimeout(() => resolve('hung'), 10_000)),
    ]);
    expect(exit).toEqual({ exitCode: 0, signal: null, lostConnection: false, error: null });
    await waitGone([pid, ...children], 10_000);
  });

  it('exited does not wait for a process that left the group and holds stdout', async () => {
    const { proc, children } = await startForker((f, a) => host.spawn(f, a), ['1', 'exit', 'escape']);
    try {
      const started = Date.now();
      const exit = await proc.exited;
      expect(exit.exitCode).toBe(0);
      // The escaped child holds stdout for 1000 s: far below that, exited did not wait for it.
      expect(Date.now() - started).toBeLessThan(20_000);
      // It escaped the group (setsid), so it is beyond the leader, as documented.
      expect(await allAlive(children)).toBe(true);
    } finally {
      for (const pid of children) process.kill(pid, 'SIGKILL');
    }
  });

  it('appends output to logPath', async () => {
    const log = join(dir, 'append.log');
    await writeFile(log, 'before\n');
    const proc = host.spawn('sh', ['-c', 'echo to-stdout; echo to-stderr >&2'], { logPath: log });
    const stdoutLines: string[] = [];
    proc.stdout.on('line', (line) => stdoutLines.push(line));
    expect((await proc.exited).exitCode).toBe(0);
    const text = await readFile(log, 'utf8');
    expect(text.startsWith('before\n')).toBe(true);
    expect(text).toContain('to-stdout\n');
    expect(text).toContain('to-stderr\n');
    expect(text).not.toContain('@scaleup-leader');
    expect(stdoutLines).toEqual([]);
  });

  it('close() stops everything it started and refuses new work', async () => {
    const own = localHost();
    const a = await startForker((f, args) => own.spawn(f, args), ['1', 'stay']);
    const b = own.spawn('sleep', ['30']);
    const bPid = await b.started;
    await own.close();
    await own.close();
    await waitGone([a.pid, ...a.children, bPid], 10_000);
    expect(() => own.spawn('true', [])).toThrow(/after close/);
  });

  it('SIGKILL of the process that owns the Host leaves nothing behind', async () => {
    const require = createRequire(import.meta.url);
    const tsx = require.resolve('tsx/esm');
    const owner = execa(process.execPath, ['--import', `file://${tsx}`, OWN_HOST], {
      reject: false,
      buffer: false,
    });
    const report = await new Promise<{ clientPid: number; pid: number; children: number[] }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the owner did not report within 20 s')), 20_000);
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
    const all = [report.clientPid, report.pid, ...report.children];
    expect(await allAlive(all)).toBe(true);
    owner.kill('SIGKILL');
    await owner;
    await waitGone(all, 15_000, 'processes of the SIGKILLed owner');
  });
});

describe('local describe and preflight', () => {
  it('describes this machine', async () => {
    const facts = await host.describe();
    expect(facts.kind).toBe('local');
    expect(facts.nodeVersion).toBe(process.version);
    expect(facts.logicalCores).toBeGreaterThan(0);
    expect(facts.memoryBytes).toBeGreaterThan(0);
    expect(facts.clockOffsetMs).toBeNull();
  });

  it('lists every problem at once, with versions of what is there', async () => {
    const report = await preflightHost(host, {
      binaries: ['sh', 'no-such-tool-a', 'no-such-tool-b', 'bad name'],
    });
    expect(report.nodeVersion).toBe(process.version);
    expect(report.binaries.sh?.path).toMatch(/\/sh$/);
    expect(report.problems).toEqual([
      'local: "bad name" is not a binary name',
      'local: no-such-tool-a not found on PATH',
      'local: no-such-tool-b not found on PATH',
    ]);
  });
});

describe('local stop right after spawn', () => {
  it('stop() before the pid is known still takes the command down', async () => {
    const own = localHost();
    const proc = own.spawn('sh', ['-c', 'echo $$; exec sleep 30']);
    const lines: string[] = [];
    proc.stdout.on('line', (line) => lines.push(line));
    await proc.stop(1000);
    const exit = await proc.exited;
    expect(exit.lostConnection).toBe(false);
    const pid = proc.pid;
    if (pid !== undefined) await waitGone([pid], 10_000);
    await own.close();
  });
});
