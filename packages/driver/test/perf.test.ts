import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectPerf, paranoidProblem, perfFailure, perfRecordArgs, perfScriptArgs } from '../src/perf.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/perf/${name}`, import.meta.url), 'utf8');

describe('perf arguments', () => {
  it('samples every thread of the pids with a software clock and call graphs, for the time asked', () => {
    expect(perfRecordArgs({ pids: [12, 34], seconds: 2.5, output: '/tmp/d/perf.data' })).toEqual([
      ...['record', '-e', 'cpu-clock', '-F', '999', '-g', '-p', '12,34', '-o', '/tmp/d/perf.data'],
      ...['--', 'sleep', '2.5'],
    ]);
    expect(perfRecordArgs({ pids: [1], seconds: 1, output: 'o', frequencyHz: 99 })).toContain('99');
    expect(() => perfRecordArgs({ pids: [], seconds: 1, output: 'o' })).toThrow(/at least one pid/);
    expect(perfScriptArgs('/tmp/d/perf.data')).toEqual([
      ...['script', '-F', 'comm,pid,tid,time,period,event,ip,sym,dso', '-i', '/tmp/d/perf.data'],
    ]);
  });
});

describe("perf's refusals, as one line", () => {
  it('names the paranoid setting and the fix (real stderr of a non-root perf record here)', () => {
    expect(perfFailure(fixture('record-paranoid.stderr.txt'), 255)).toBe(
      'the kernel refuses CPU profiles (kernel.perf_event_paranoid is 2): run as root, or: sysctl -w kernel.perf_event_paranoid=1',
    );
  });

  it("passes on perf's own reason otherwise (a pid that went away)", () => {
    expect(perfFailure(fixture('record-no-such-pid.stderr.txt'), 244)).toBe(
      "perf record failed (exit 244): Couldn't create thread/CPU maps: No such process",
    );
    expect(perfFailure('', undefined)).toBe('perf record failed (exit ?): no message');
    // Seen here profiling a tree of 33 processes whose threads came and went: only these lines.
    expect(
      perfFailure(
        'WARNING: Ignored open failure for pid 32404\nWARNING: Ignored open failure for pid 32405\n',
        255,
      ),
    ).toBe('perf record failed (exit 255): no message');
  });

  it('refuses non-root users above paranoid 1 before starting, never root', () => {
    expect(paranoidProblem(2, 1000)).toMatch(/perf_event_paranoid is 2/);
    expect(paranoidProblem(1, 1000)).toBeNull();
    expect(paranoidProblem(3, 0)).toBeNull();
    expect(paranoidProblem(null, 1000)).toBeNull();
  });

  it('detects perf with its version, or says what is missing', async () => {
    const found = await detectPerf({ uid: 0 });
    if (found.ok) expect(found.version).toMatch(/^\d+\.\d+/);
    else expect(found.fix).toBe('apt-get install linux-perf');
    const refused = await detectPerf({ uid: 1000, paranoid: 3 });
    if (found.ok)
      expect(refused).toMatchObject({ ok: false, problem: expect.stringMatching(/paranoid is 3/) });
  });
});
