import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { OPENLOOP_BINARY } from '../src/openloop-build.ts';

/**
 * openloop's scheduler on a fake clock (--simulate): the C code that decides what goes out when,
 * with the sockets replaced by a script. Times are microseconds from the start.
 */
async function simulate(lines: string[]): Promise<{ out: string[]; totals: Record<string, number> }> {
  const { stdout } = await execa(OPENLOOP_BINARY, ['--simulate'], { input: `${lines.join('\n')}\n` });
  const out = stdout.trim().split('\n');
  const last = out.pop() ?? '';
  const totals: Record<string, number> = {};
  const words = last.split(' ');
  for (let i = 0; i + 1 < words.length; i += 2) totals[words[i]!] = Number(words[i + 1]);
  return { out, totals };
}

const sends = (out: string[]) => out.filter((l) => l.startsWith('send '));

describe('openloop schedule (fake clock)', () => {
  it('sends each request at its own intended time, spread over idle connections in turn', async () => {
    const { out, totals } = await simulate([
      'start 1000 6 3 3 100', // 1000/s: one request every 1000 us; 3 connections, late past 100 us
      'connected 0',
      'connected 1',
      'connected 2',
      ...[0, 1000, 2000].flatMap((t, i) => [`at ${t}`, `at ${t + 300}`, `respond ${i}`]),
      ...[3000, 4000, 5000].flatMap((t, i) => [`at ${t}`, `at ${t + 300}`, `respond ${i}`]),
    ]);
    expect(sends(out)).toEqual([
      'send 0 on 0 intended 0 at 0',
      'send 1 on 1 intended 1000 at 1000',
      'send 2 on 2 intended 2000 at 2000',
      'send 3 on 0 intended 3000 at 3000',
      'send 4 on 1 intended 4000 at 4000',
      'send 5 on 2 intended 5000 at 5000',
    ]);
    expect(out.filter((l) => l.startsWith('done '))).toEqual(
      Array(6).fill(expect.stringMatching(/latency 300$/)),
    );
    expect(totals).toMatchObject({ late: 0, waits: 0, opened: 3, completed: 6 });
  });

  it('gives each thread every n-th request of the global schedule', async () => {
    // Thread 1 of 3 at 1000/s overall: global requests 1, 4, 7 at 1 ms, 4 ms, 7 ms.
    const { out } = await simulate([
      'start 1000 3 1 1 100 1 3',
      'connected 0',
      'at 0',
      'at 1000',
      'respond 0',
      'at 4000',
      'respond 0',
      'at 7000',
    ]);
    expect(sends(out)).toEqual([
      'send 1 on 0 intended 1000 at 1000',
      'send 4 on 0 intended 4000 at 4000',
      'send 7 on 0 intended 7000 at 7000',
    ]);
  });

  it('never lets a request wait for a busy connection: it opens another', async () => {
    const { out, totals } = await simulate([
      'start 1000 3 1 10 100',
      'connected 0',
      'at 0', // request 0 on connection 0, which then hangs
      'at 1000', // request 1 is due, connection 0 is busy: a new one
      'connected 1',
      'at 2000', // both busy: a third
      'connected 2',
    ]);
    expect(out).toEqual([
      'open 0',
      'send 0 on 0 intended 0 at 0',
      'open 1',
      'send 1 on 1 intended 1000 at 1000',
      'open 2',
      'send 2 on 2 intended 2000 at 2000',
    ]);
    expect(totals).toMatchObject({ late: 0, waits: 0, opened: 3 });
  });

  it('at the connection bound a request waits, is counted, and its latency still runs from its intended time', async () => {
    const { out, totals } = await simulate([
      'start 1000 4 2 2 100',
      'connected 0',
      'connected 1',
      'at 0',
      'at 1000',
      'at 2000', // both connections busy and the bound reached: request 2 waits
      'at 3000', // request 3 waits too
      'at 3500',
      'respond 0', // request 0 took 3.5 ms; request 2 goes out on the freed connection
      'at 4000',
      'respond 0', // request 2 answered at 4 ms, 2 ms after its intended time
    ]);
    expect(sends(out)).toEqual([
      'send 0 on 0 intended 0 at 0',
      'send 1 on 1 intended 1000 at 1000',
      'send 2 on 0 intended 2000 at 3500',
      'send 3 on 0 intended 3000 at 4000',
    ]);
    expect(out.filter((l) => l.startsWith('done '))).toEqual([
      'done on 0 latency 3500',
      'done on 0 latency 2000',
    ]);
    // Waiting for a connection is the server's slowness, not the tool's: no late sends.
    expect(totals).toMatchObject({ late: 0, waits: 2, opened: 2 });
  });

  it('does not charge the tool for requests that fell due while others waited at the bound', async () => {
    // One connection, the bound: request 0 hangs until 5 ms. Requests 1..5 fall due meanwhile;
    // the thread need not wake for them (they could not go out) and they are not late sends.
    const { out, totals } = await simulate([
      'start 1000 6 1 1 100',
      'connected 0',
      'at 0',
      'at 1000',
      'at 5000',
      'respond 0',
    ]);
    expect(sends(out)).toEqual(['send 0 on 0 intended 0 at 0', 'send 1 on 0 intended 1000 at 5000']);
    expect(totals).toMatchObject({ late: 0, lag: 0, waits: 5 });
  });

  it('counts sends the tool itself noticed late, past the bound', async () => {
    // Request 0 goes out at once; then the thread wakes up only at 5 ms: requests intended at
    // 1..5 ms are noticed 4, 3, 2, 1 and 0 ms late, and the bound is 1 ms.
    const connected = [0, 1, 2, 3, 4, 5].map((s) => `connected ${s}`);
    const { out, totals } = await simulate(['start 1000 6 6 6 1000', ...connected, 'at 5000']);
    expect(sends(out)).toHaveLength(6);
    expect(totals).toMatchObject({ late: 3, lag: 4000, waits: 0 });
  });

  it('a failed connect fails the request that was waiting for it, once', async () => {
    const { out, totals } = await simulate([
      'start 1000 2 0 5 100',
      'at 0',
      'failed 0',
      'at 1000',
      'connected 0',
    ]);
    // Request 0 failed with its connection; request 1 gets a new one (the slot is reused).
    expect(out).toEqual(['open 0', 'open 0', 'send 1 on 0 intended 1000 at 1000']);
    expect(totals).toMatchObject({ failed: 1, errored: 1, opened: 2 });
  });

  it('computes every intended time from the start, so a fractional interval never drifts', async () => {
    // 3/s is an interval of 333 333.33... us; request 300 is intended at exactly 100 s.
    const lines = ['start 3 301 1 1 1000000', 'connected 0'];
    for (let k = 0; k <= 300; k++) lines.push(`at ${Math.ceil((k * 1e6) / 3)}`, 'respond 0');
    const { out } = await simulate(lines);
    const sent = sends(out);
    expect(sent).toHaveLength(301);
    expect(sent[1]).toBe('send 1 on 0 intended 333333 at 333334');
    expect(sent[300]).toBe('send 300 on 0 intended 100000000 at 100000000');
  });

  it('refuses a script that does not start with the schedule', async () => {
    const result = await execa(OPENLOOP_BINARY, ['--simulate'], { input: 'at 0\n', reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/bad or out-of-place script line: at 0/);
  });
});
