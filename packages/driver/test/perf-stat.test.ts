import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePerfStatCount, perfStatSyscallArgs } from '../src/perf.ts';

// Every fixture is perf 6.1's real stderr on this Debian 12 VM (see fixtures/README.md).
const fixture = (name: string) => readFileSync(new URL(`./fixtures/perf/${name}`, import.meta.url), 'utf8');

describe('perf stat for system calls', () => {
  it('counts the syscall tracepoint of every thread of the pids, bounded by a sleep', () => {
    expect(perfStatSyscallArgs([12, 34], 75)).toEqual([
      ...['stat', '-x,', '-e', 'raw_syscalls:sys_enter', '-p', '12,34', '--', 'sleep', '75'],
    ]);
    expect(() => perfStatSyscallArgs([], 1)).toThrow(/at least one pid/);
  });

  it('reads the count of two processes together (yes and a shell loop, one second)', () => {
    expect(parsePerfStatCount(fixture('stat-syscalls.stderr.txt'))).toEqual({ ok: true, count: 359098 });
  });

  it('says why there is no number', () => {
    expect(parsePerfStatCount(fixture('stat-syscalls-not-counted.stderr.txt'))).toEqual({
      ok: false,
      problem: 'perf stat: raw_syscalls:sys_enter not counted for these processes',
    });
    expect(parsePerfStatCount(fixture('stat-nonroot.stderr.txt'))).toEqual({
      ok: false,
      problem:
        'perf stat counted nothing: No permissions to read /sys/kernel/tracing/events/raw_syscalls/sys_enter',
    });
    expect(parsePerfStatCount(fixture('stat-unknown-tracepoint.stderr.txt'))).toEqual({
      ok: false,
      problem:
        'perf stat counted nothing: File /sys/kernel/tracing/events/raw_syscalls/sys_enterX not found.',
    });
    expect(parsePerfStatCount(fixture('stat-no-such-pid.stderr.txt'))).toEqual({
      ok: false,
      problem: 'perf stat counted nothing: Problems finding threads of monitor',
    });
    expect(parsePerfStatCount('')).toEqual({ ok: false, problem: 'perf stat counted nothing: no output' });
  });

  it('takes only its own event, and no half number', () => {
    expect(parsePerfStatCount('12,,raw_syscalls:sys_exit,1,100.00,,\n')).toEqual({
      ok: false,
      problem: 'perf stat counted nothing: 12,,raw_syscalls:sys_exit,1,100.00,,',
    });
    expect(parsePerfStatCount('1.5e3,,raw_syscalls:sys_enter,1,100.00,,\n').ok).toBe(false);
  });
});
