import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LEADER_PATH } from '../src/protocol.ts';
import { FORKER, waitGone } from './support/procs.ts';

const T = '@test-token';

function leader(args: string[], input?: string) {
  return execa(process.execPath, [LEADER_PATH, '--token', T, ...args], {
    reject: false,
    input: input ?? '',
    timeout: 20_000,
  });
}

describe('group-leader.mjs', () => {
  it("reports the command's pid before anything the command writes", async () => {
    const result = await execa(
      process.execPath,
      [LEADER_PATH, '--token', T, '--', 'sh', '-c', 'echo early >&2; echo $$ >&2'],
      { reject: false, stdin: 'pipe', timeout: 20_000 },
    );
    const lines = result.stderr.split('\n');
    const started = /^@test-token started (\d+) (\d+)$/.exec(lines[0] ?? '');
    expect(started, result.stderr).not.toBeNull();
    expect(lines[1]).toBe('early');
    // sh execs in place: the pid reported is the pid the command sees as its own.
    expect(lines[2]).toBe(started![2]);
    expect(lines.at(-1)).toBe('@test-token exit 0 -');
  });

  it("exits with the command's status", async () => {
    // Keep stdin open so the exit is the command's, not a stop.
    const code = execa(process.execPath, [LEADER_PATH, '--token', T, '--', 'sh', '-c', 'exit 7'], {
      reject: false,
      stdin: 'pipe',
    });
    expect((await code).exitCode).toBe(7);
    const signalled = execa(
      process.execPath,
      [LEADER_PATH, '--token', T, '--', 'sh', '-c', 'kill -KILL $$'],
      {
        reject: false,
        stdin: 'pipe',
      },
    );
    const result = await signalled;
    expect(result.exitCode).toBe(128 + 9);
    expect(result.stderr).toContain(`${T} exit - SIGKILL`);
  });

  it('reports a command it cannot start, and a bad usage', async () => {
    const missing = await leader(['--', 'no-such-command-here']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain(`${T} error cannot start no-such-command-here: not found on PATH`);
    const usage = await execa(process.execPath, [LEADER_PATH, '--', 'true'], { reject: false });
    expect(usage.exitCode).toBe(64);
    expect(usage.stderr).toContain('--token is required');
  });

  it('stops the whole group when its control stdin closes', async () => {
    const child = execa(
      process.execPath,
      [LEADER_PATH, '--token', T, '--grace', '500', '--', 'node', FORKER, '2', 'stay'],
      {
        reject: false,
        stdin: 'pipe',
        buffer: true,
      },
    );
    const pids: number[] = [];
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(/child (\d+)/g)) pids.push(Number(match[1]));
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    child.stdin?.end();
    const result = await child;
    expect(result.stderr).toContain('stopping control stdin closed');
    await waitGone(pids, 10_000);
  });

  it('with its control stdin gone, does not give a command that ignores TERM the whole grace', async () => {
    // What a cut ssh session looks like from the remote side: nobody can take the output any more.
    const child = execa(
      process.execPath,
      [LEADER_PATH, '--token', T, '--grace', '30000', '--', 'node', FORKER, '2', 'stay', 'stubborn'],
      { reject: false, stdin: 'pipe', buffer: true },
    );
    const pids: number[] = [];
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(/child (\d+)/g)) pids.push(Number(match[1]));
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    expect(pids).toHaveLength(2);
    child.stdin?.end();
    // At most a second of grace, then KILL: far below the 30 s a requested stop would wait.
    await waitGone(pids, 10_000, 'the stubborn group after its control stdin closed');
    const result = await child;
    expect(result.stderr).toContain('stopping control stdin closed');
  });

  it('stops the group when the heartbeat goes silent', async () => {
    const child = execa(
      process.execPath,
      [LEADER_PATH, '--token', T, '--heartbeat', '600', '--', 'sleep', '30'],
      {
        reject: false,
        stdin: 'pipe',
      },
    );
    const started = Date.now();
    const result = await child;
    expect(result.stderr).toContain('stopping no heartbeat for 600 ms');
    // Far below the command's 30 s: the missing heartbeat stopped it.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('forwards stdin frames to the command', async () => {
    const data = Buffer.from('hello\n').toString('base64');
    // stdin stays open: its end would stop the group, racing the command's answer.
    const child = execa(
      process.execPath,
      [LEADER_PATH, '--token', T, '--stdin', '--', 'sh', '-c', 'read line; echo "got:$line"'],
      { reject: false, stdin: 'pipe', timeout: 20_000 },
    );
    child.stdin?.write(`D ${data}\n`);
    const result = await child;
    expect(result.stdout).toBe('got:hello');
  });
});
