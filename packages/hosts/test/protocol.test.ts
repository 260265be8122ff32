import { describe, expect, it } from 'vitest';
import {
  type ControlMessage,
  leaderArguments,
  newToken,
  parseControl,
  StderrDemux,
} from '../src/protocol.ts';

function demux(token: string, chunks: string[]): { lines: string[]; control: ControlMessage[] } {
  const lines: string[] = [];
  const control: ControlMessage[] = [];
  const d = new StderrDemux(
    token,
    (m) => control.push(m),
    (l) => lines.push(l),
  );
  for (const chunk of chunks) d.push(chunk);
  d.end();
  return { lines, control };
}

describe('control messages', () => {
  it('parses each kind', () => {
    expect(parseControl(' started 10 11')).toEqual({ kind: 'started', leaderPid: 10, pid: 11 });
    expect(parseControl(' exit 3 -')).toEqual({ kind: 'exit', exitCode: 3, signal: null });
    expect(parseControl(' exit - SIGTERM')).toEqual({ kind: 'exit', exitCode: null, signal: 'SIGTERM' });
    expect(parseControl(' error cannot start x: not found')).toEqual({
      kind: 'error',
      message: 'cannot start x: not found',
    });
    expect(parseControl(' stopping parent died')).toEqual({ kind: 'stopping', reason: 'parent died' });
    expect(parseControl(' started x y')).toBeNull();
    expect(parseControl(' hello')).toBeNull();
  });

  it('tokens differ per call', () => {
    expect(newToken()).not.toBe(newToken());
  });

  it('separates control lines from the command stderr, across chunk boundaries', () => {
    const t = '@T';
    const { lines, control } = demux(t, ['one\n@T sta', 'rted 1 2\ntwo', '\nthree']);
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(control).toEqual([{ kind: 'started', leaderPid: 1, pid: 2 }]);
  });

  it("keeps a partial line of the command's whole when a control message lands inside it", () => {
    const { lines, control } = demux('@T', ['half a li', '@T exit 0 -\n', 'ne\nnext\n']);
    expect(lines).toEqual(['half a line', 'next']);
    expect(control).toEqual([{ kind: 'exit', exitCode: 0, signal: null }]);
  });

  it('handles two control messages in one chunk', () => {
    const { lines, control } = demux('@T', ['@T stopping x\n@T exit - SIGKILL\n']);
    expect(lines).toEqual([]);
    expect(control.map((m) => m.kind)).toEqual(['stopping', 'exit']);
  });
});

describe('leaderArguments', () => {
  it('puts every option before the --', () => {
    expect(
      leaderArguments({
        token: 'T',
        graceMs: 1500,
        heartbeatMs: 5000,
        stdin: true,
        cwd: '/tmp',
        env: { A: '1', B: 'x=y' },
        cpus: [0, 1],
      }),
    ).toEqual([
      '--token',
      'T',
      '--grace',
      '1500',
      '--heartbeat',
      '5000',
      '--stdin',
      '--cwd',
      '/tmp',
      '--env',
      'A=1',
      '--env',
      'B=x=y',
      '--cpus',
      '0,1',
      '--',
    ]);
  });

  it('refuses an environment name with =', () => {
    expect(() => leaderArguments({ token: 'T', graceMs: 1, stdin: false, env: { 'A=B': '1' } })).toThrow();
  });
});
