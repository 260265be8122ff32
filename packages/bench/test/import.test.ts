import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseResults, UsageError } from '@scaleup/core';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { importCaptures, importResults } from '../src/import.ts';
import { scaleupCliCommand } from '../src/servers.ts';

const fixtures = fileURLToPath(new URL('fixtures/import/', import.meta.url));
const seedManifest = join(fixtures, 'manifest.json');
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-import-'));
  dirs.push(dir);
  return dir;
}
const options = (manifestPath: string, outDir: string) => ({
  manifestPath,
  outDir,
  argv: ['bench', 'import'],
  scaleupVersion: '0.0.0-test',
});

describe('bench import: the seed run from its own weighttp logs', () => {
  it('reproduces the seed figures, its ratios to nginx, and the machine the manifest names', async () => {
    const out = await tempDir();
    const { results } = await importResults(options(seedManifest, out));
    const rps = Object.fromEntries(
      results.scenarios.map((s) => [s.id, Math.floor(s.summary!.requestsPerSecond!.median)]),
    );
    // weighttp prints whole req/s, truncated.
    expect(rps).toEqual({
      '1a': 50692,
      '1b': 17329,
      'nginx-1': 82263,
      '2a': 62414,
      '2b': 21801,
      'nginx-2': 86385,
    });
    const ratio = (id: string) => results.scenarios.find((s) => s.id === id)!.summary!.ratioToBaseline!;
    expect(ratio('2a').ratio.toFixed(2)).toBe('0.72');
    expect(ratio('1a').ratio.toFixed(2)).toBe('0.62');
    expect(ratio('2b').ratio.toFixed(2)).toBe('0.25');
    expect(ratio('1b').ratio.toFixed(2)).toBe('0.21');
    // One run per scenario: no interval is claimed.
    expect(ratio('1a')).toMatchObject({ confidence: 0, n: 1, baseline: 'nginx-1' });
    expect(results.scenarios[0]!.summary!.requestsPerSecond).toMatchObject({ n: 1, confidence: 0 });
    expect(results.run.source).toBe('imported');
    expect(results.environment).toMatchObject({
      hostname: 'corei7-ubuntu',
      logicalCores: 8,
      physicalCores: 4,
      smt: true,
      memoryBytes: 12 * 2 ** 30,
      distribution: 'Ubuntu 12.04 LTS 64 bit',
      nodeVersion: null,
      kernel: null,
      sysctls: {},
    });
    expect(results.plan).toMatchObject({
      tool: 'weighttp',
      requests: 1000000,
      connections: 4000,
      baselineConnections: 1000,
      threads: 4,
    });
    expect(results.scenarios.find((s) => s.id === 'nginx-1')!.point.connections).toBe(1000);
    expect(results.scenarios[0]).toMatchObject({
      compareAs: 'tw-1a',
      server: { kind: 'imported', name: 'Twisted 13.1 on PyPy 2.1' },
    });
    for (const s of results.scenarios)
      expect(s.repetitions[0]!.verdict).toMatchObject({ valid: true, reasons: [] });
  });

  it('writes results.json readable by every reader, and references the captures it holds', async () => {
    const out = await tempDir();
    await importCaptures(options(seedManifest, out));
    const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
    const raw = results.scenarios[0]!.repetitions[0]!.load.rawOutputPath!;
    expect(raw).toBe('raw/1a-r1-twisted-1a-fixed-10000.txt');
    expect(existsSync(join(out, raw))).toBe(true);
  });
});

describe('bench import: captures that are failures are invalid repetitions, never throughput', () => {
  it('judges an all-404 and an all-refused capture invalid with their reasons', async () => {
    const dir = await tempDir();
    const manifest = {
      machine: { hostname: 'lab', cpuModel: 'x', logicalCores: 2, date: '2026-11-26' },
      tool: 'h2load',
      load: { requests: 2000, connections: 10, threads: 1, keepAlive: true },
      scenarios: [
        {
          id: 'ok',
          label: 'nginx 40 B',
          payloadBytes: 40,
          baseline: true,
          server: 'nginx',
          captures: [join(fixtures, 'failures/ok-keepalive-40.txt')],
          connections: 20,
        },
        {
          id: 'missing',
          label: 'the 404 page',
          payloadBytes: 40,
          server: 'nginx',
          captures: [join(fixtures, 'failures/404.txt')],
        },
        {
          id: 'down',
          label: 'a closed port',
          payloadBytes: 40,
          server: 'nothing',
          captures: [join(fixtures, 'failures/refused.txt')],
        },
      ],
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const { results } = await importResults(options(join(dir, 'manifest.json'), join(dir, 'out')));
    const verdict = (id: string) => results.scenarios.find((s) => s.id === id)!.repetitions[0]!.verdict;
    expect(verdict('missing').valid).toBe(false);
    expect(verdict('missing').reasons.join('; ')).toMatch(/no successful response.*non-2xx/);
    expect(verdict('down').valid).toBe(false);
    expect(verdict('down').reasons.join('; ')).toMatch(/no successful response/);
    expect(results.scenarios.find((s) => s.id === 'missing')!.summary!.requestsPerSecond).toBeNull();
    expect(results.scenarios.find((s) => s.id === 'missing')!.summary!.ratioToBaseline).toBeNull();
    expect(verdict('ok').valid).toBe(true);
  });
});

describe('bench import: a strict manifest', () => {
  it('reports every problem on a line of its own and writes nothing', async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    const manifest = {
      machine: { hostname: 'lab', cpuModel: 'x', logicalCores: 0, date: 'yesterday', colour: 'red' },
      tool: 'ab',
      load: { requests: 10, durationSeconds: 2, connections: 1, threads: 1, keepAlive: true },
      scenarios: [{ id: 'a', label: 'a', payloadBytes: 40, server: 's', captures: ['nope.txt'], extra: 1 }],
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const error = await importCaptures(options(join(dir, 'manifest.json'), out)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    const lines = (error as Error).message.split('\n');
    expect(lines[0]).toMatch(/manifest\.json: 6 problems:$/);
    const text = lines.slice(1).join('\n');
    expect(text).toMatch(/machine: Unrecognized key: "colour"/);
    expect(text).toMatch(/machine\.logicalCores/);
    expect(text).toMatch(/machine\.date: not a date/);
    expect(text).toMatch(/^ {2}tool: /m);
    expect(text).toMatch(/load: set exactly one of requests and durationSeconds/);
    expect(text).toMatch(/scenarios\.0: Unrecognized key: "extra"/);
    expect(existsSync(out)).toBe(false);
  });

  it('names every capture it cannot read, all at once, before writing anything', async () => {
    const dir = await tempDir();
    const manifest = JSON.parse(await readFile(seedManifest, 'utf8'));
    for (const scenario of manifest.scenarios) {
      scenario.captures = scenario.captures.map((c: string) => join(fixtures, c));
    }
    manifest.scenarios[0].captures = ['gone-1.txt'];
    manifest.scenarios[3].captures = ['gone-2.txt'];
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const error = await importCaptures(options(join(dir, 'manifest.json'), join(dir, 'out'))).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /2 problems:\n {2}scenarios\.0\.captures\.0: cannot read gone-1\.txt \(ENOENT\)\n {2}scenarios\.3\.captures\.0: cannot read gone-2\.txt \(ENOENT\)$/,
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('pnpm bench import: exit 0 with the reports, exit 2 and one line per problem for a bad manifest', async () => {
    const out = await tempDir();
    const cli = scaleupCliCommand(['bench', 'import', seedManifest, '--out', out]);
    const run = await execa(cli.file, cli.args, { reject: false, timeout: 120_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(existsSync(join(out, 'results.xlsx'))).toBe(true);
    expect(existsSync(join(out, 'results.pdf'))).toBe(true);
    expect(run.stderr).toMatch(/0\.62x/);
    const bad = join(out, 'bad.json');
    await writeFile(bad, JSON.stringify({ tool: 'wrk' }));
    const badCli = scaleupCliCommand(['bench', 'import', bad, '--out', join(out, 'x')]);
    const refused = await execa(badCli.file, badCli.args, { reject: false, timeout: 60_000 });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim().split('\n').length).toBeGreaterThanOrEqual(4);
    expect(refused.stderr).toMatch(/^ {2}machine: /m);
    expect(existsSync(join(out, 'x'))).toBe(false);
  }, 150_000);
});
