import { ServerStatsFileSchema } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { respawnDelayMs } from '../src/master.ts';
import { formatWorkerLine, readyLine, statsFile, workerStats } from '../src/stats.ts';

const sample = {
  pid: 4242,
  requests: 120345,
  connections: 128,
  cpuUserSeconds: 3.912345678,
  cpuSystemSeconds: 0.88,
  rssBytes: 61_234_567,
  zeroCopyResponses: 0,
};

describe('stats', () => {
  it('formats one compact line per worker', () => {
    const stats = workerStats(0, 1, sample);
    expect(formatWorkerLine(stats, 24069.4)).toBe(
      'worker 0 pid 4242: 120345 req (24069/s), 128 conn, cpu 3.91u 0.88s, rss 61.2 MB, restarts 1',
    );
    expect(formatWorkerLine(stats, null)).toBe(
      'worker 0 pid 4242: 120345 req, 128 conn, cpu 3.91u 0.88s, rss 61.2 MB, restarts 1',
    );
  });

  it('builds a stats file the shared schema accepts, workers sorted by slot', () => {
    const file = statsFile(
      {
        masterPid: 1,
        accept: 'shared',
        resource: 'fixed',
        payloadBytes: 40,
        port: 8080,
        host: '127.0.0.1',
        backlog: 8192,
        effectiveBacklog: 4096,
        send: 'auto',
        zeroCopy: { active: false, minBytes: 4096, note: 'zero-copy addon not built (pnpm build:native)' },
      },
      'interval',
      12.3456,
      [workerStats(1, 0, { ...sample, pid: 2 }), workerStats(0, 2, sample)],
      { requests: 5, connections: 1 },
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(ServerStatsFileSchema.parse(file)).toEqual(file);
    expect(file.workers.map((w) => w.slot)).toEqual([0, 1]);
    expect(file.uptimeSeconds).toBe(12.346);
    expect(file.writtenAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('prints the ready line in the documented shape', () => {
    expect(
      readyLine({
        host: '0.0.0.0',
        port: 8080,
        workers: 2,
        accept: 'shared',
        resource: 'file',
        payloadBytes: 40,
        masterPid: 77,
        zeroCopy: { active: true, minBytes: 4096 },
      }),
    ).toBe(
      'scaleup server ready: http://0.0.0.0:8080/ (2 workers, accept=shared, resource=file, payload=40 B, send=sendfile from 4096 B, master pid 77)',
    );
    expect(
      readyLine({
        host: '::1',
        port: 1,
        workers: 1,
        accept: 'rr',
        resource: 'fixed',
        payloadBytes: 0,
        masterPid: 2,
        zeroCopy: { active: false, minBytes: 4096 },
      }),
    ).toContain('http://[::1]:1/ (1 workers, accept=rr, resource=fixed, payload=0 B, send=write,');
  });

  it('backs off respawns of a crash-looping slot', () => {
    expect([0, 1, 2, 3, 4, 5].map(respawnDelayMs)).toEqual([0, 0, 100, 200, 400, 800]);
    expect(respawnDelayMs(30)).toBe(10_000);
  });
});
