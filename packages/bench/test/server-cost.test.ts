import { spawn } from 'node:child_process';
import { waitFor } from '@scaleup/core/io';
import { detectPerf } from '@scaleup/driver';
import { localHost } from '@scaleup/hosts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextSwitchDelta, readContextSwitches, readLocalFile, SyscallCounter } from '../src/index.ts';

describe('context switches of the server processes', () => {
  it('adds up the processes read before and after, and only those', () => {
    const before = new Map([
      [10, 100],
      [11, 50],
    ]);
    // 11 respawned as 12: neither counts; 10 switched 30 times.
    const after = new Map([
      [10, 130],
      [12, 5],
    ]);
    expect(contextSwitchDelta(before, after)).toBe(30);
    expect(contextSwitchDelta(before, new Map([[12, 5]]))).toBeNull();
    expect(contextSwitchDelta(new Map(), new Map())).toBeNull();
  });

  it('reads /proc/<pid>/status of a live process, and skips one that is gone', async () => {
    const read = await readContextSwitches(readLocalFile, [process.pid, 2 ** 22 + 1]);
    expect([...read.keys()]).toEqual([process.pid]);
    expect(read.get(process.pid)).toBeGreaterThan(0);
  });
});

describe('SyscallCounter (perf stat on this machine)', () => {
  let host = localHost();
  let busy: ReturnType<typeof spawn> | undefined;
  beforeEach(() => {
    host = localHost();
  });
  afterEach(async () => {
    busy?.kill('SIGKILL');
    busy = undefined;
    await host.close();
  });

  it('counts the system calls of a process while the window is open, or says once why not', async () => {
    // A process that makes system calls all the time (a stat every millisecond).
    busy = spawn(process.execPath, ['-e', "setInterval(() => require('fs').statSync('/'), 1)"], {
      stdio: 'ignore',
    });
    const pid = busy.pid!;
    const warnings: string[] = [];
    const counter = new SyscallCounter(host, (m) => warnings.push(m));
    const perf = await detectPerf();
    const window = await counter.start([pid], 30);
    if (!perf.ok) {
      expect(window).toBeNull();
      expect(await counter.start([pid], 30)).toBeNull();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^system calls per response not counted: /);
      return;
    }
    expect(window).not.toBeNull();
    // Wait for the process to have made some calls inside the window, by its own CPU clock.
    const ticks = async () => {
      const fields = (await readLocalFile(`/proc/${pid}/stat`))?.split(') ')[1]?.split(' ') ?? [];
      return Number(fields[11]) + Number(fields[12]);
    };
    const start = await ticks();
    await waitFor(async () => ((await ticks()) > start + 5 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the busy process to run',
    });
    const counted = await window!.stop();
    expect(counted.problem).toBeNull();
    expect(counted.count).toBeGreaterThan(100);
    expect(warnings).toEqual([]);
  }, 60_000);

  it('says null and why for a pid that is gone, once', async () => {
    const warnings: string[] = [];
    const counter = new SyscallCounter(host, (m) => warnings.push(m));
    const perf = await detectPerf();
    const gone = 2 ** 22 + 1;
    expect(await counter.start([gone], 30)).toBeNull();
    expect(await counter.start([gone], 30)).toBeNull();
    expect(warnings).toHaveLength(1);
    if (perf.ok) expect(warnings[0]).toMatch(/Problems finding threads of monitor/);
  }, 60_000);
});
