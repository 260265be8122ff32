import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { scaleupCliCommand } from '@scaleup/bench';
import { InlineLoadReportSchema } from '@scaleup/core';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../../driver/test/support/http-server.ts';

const fixture = (path: string) =>
  fileURLToPath(new URL(`../../../driver/test/fixtures/${path}`, import.meta.url));

function parse(tool: string, file: string, ...extra: string[]) {
  const command = scaleupCliCommand(['load', 'parse', '--tool', tool, fixture(file), ...extra]);
  return execa(command.file, command.args, { reject: false, timeout: 60_000 });
}

describe('load parse: a capture is a failure when nothing succeeded or too much failed', () => {
  it('exits 1 with a ! line for a weighttp 0.5 capture in which every request failed without a status', async () => {
    // weighttp printed 8821 req/s for this run: all 2000 connections were reset, none answered.
    const run = await parse('weighttp', 'weighttp/0.5-all-reset.txt');
    expect(run.stdout).toMatch(/0 succeeded, 0 failed, 2,000 errored/);
    expect(run.stdout).toMatch(/^! no successful response/m);
    expect(run.exitCode).toBe(1);
    // A weighttp that died before printing a summary (every connect refused) fails the same way.
    const refused = await parse('weighttp', 'weighttp/0.5-refused.txt');
    expect(refused.stdout).toMatch(/^! no successful response/m);
    expect(refused.exitCode).toBe(1);
  });

  it('exits 1 for an all-404 capture and for refused connections, as for any run with no success', async () => {
    for (const [tool, file] of [
      ['h2load', 'h2load/404.txt'],
      ['h2load', 'h2load/refused.txt'],
    ] as const) {
      const run = await parse(tool, file);
      expect(run.exitCode, file).toBe(1);
      expect(run.stdout, file).toMatch(/^! no successful response/m);
    }
  });

  it('exits 0 for a clean capture, and takes --max-failed for a tolerated share of failures', async () => {
    expect((await parse('h2load', 'h2load/ok-keepalive-40.txt')).exitCode).toBe(0);
    const mixed = await parse('h2load', 'h2load/mixed-500.txt');
    expect(mixed.exitCode).toBe(1);
    expect(mixed.stdout).toMatch(
      /^! \d+ of \d+ requests failed or errored \([\d.]+%\), above the 0% allowed/m,
    );
    expect((await parse('h2load', 'h2load/mixed-500.txt', '--max-failed', '30')).exitCode).toBe(0);
    const bad = await parse('h2load', 'h2load/mixed-500.txt', '--max-failed', '120');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('keeps stdout one JSON document with --json and gives the reasons on stderr', async () => {
    const run = await parse('h2load', 'h2load/refused.txt', '--json');
    expect(JSON.parse(run.stdout).requests.succeeded).toBe(0);
    expect(run.stderr).toMatch(/^! no successful response/m);
    expect(run.exitCode).toBe(1);
  });
});

function load(...args: string[]) {
  const command = scaleupCliCommand(['load', ...args]);
  return execa(command.file, command.args, { reject: false, timeout: 60_000 });
}

describe('load --raw-inline: what load hosts run, so nothing of a run stays on them', () => {
  it('prints the result and the raw output as one JSON document and writes no file', async () => {
    const server = await startServer(40);
    try {
      const before = new Set(await readdir(tmpdir()));
      const run = await load(
        ...['--tool', 'autocannon', '-n', '500', '-c', '4', '-k', '--expect-bytes', '40'],
        ...['--json', '--raw-inline', server.url],
      );
      expect(run.exitCode, run.stderr).toBe(0);
      const report = InlineLoadReportSchema.parse(JSON.parse(run.stdout));
      expect(report.result.requests.succeeded).toBe(500);
      expect(report.result.rawOutputPath).toBeNull();
      expect(report.rawOutput).toMatch(/\S/);
      const added = (await readdir(tmpdir())).filter((name) => !before.has(name) && /scaleup/.test(name));
      expect(added).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('refuses --raw-inline without --json, or with --raw-out, in one line with exit 2', async () => {
    for (const extra of [['--raw-inline'], ['--json', '--raw-inline', '--raw-out', '/tmp/x.txt']]) {
      const run = await load('--tool', 'autocannon', '-n', '10', ...extra, 'http://127.0.0.1:9/');
      expect(run.exitCode, extra.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), extra.join(' ')).toHaveLength(1);
    }
  });
});
