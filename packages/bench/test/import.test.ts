import { constants, existsSync } from 'node:fs';
import {
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rm,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
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
    await cp(join(fixtures, 'failures'), join(dir, 'failures'), { recursive: true });
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
          captures: ['failures/ok-keepalive-40.txt'],
          connections: 20,
        },
        {
          id: 'missing',
          label: 'the 404 page',
          payloadBytes: 40,
          server: 'nginx',
          captures: ['failures/404.txt'],
        },
        {
          id: 'down',
          label: 'a closed port',
          payloadBytes: 40,
          server: 'nothing',
          captures: ['failures/refused.txt'],
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
    await cp(fixtures, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(seedManifest, 'utf8'));
    manifest.scenarios[0].captures = ['gone-1.txt'];
    manifest.scenarios[3].captures = ['gone-2.txt'];
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const error = await importCaptures(options(join(dir, 'manifest.json'), join(dir, 'out'))).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /2 problems:\n {2}scenarios\.0\.captures\.0: "gone-1\.txt": cannot read \(ENOENT\)\n {2}scenarios\.3\.captures\.0: "gone-2\.txt": cannot read \(ENOENT\)$/,
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

describe('bench import: a capture is a regular file of bounded size in the manifest directory', () => {
  const capture = 'twisted-2a-fixed-40.txt';
  /** A manifest in a directory of its own whose one scenario has these captures, and its out dir. */
  async function manifestWith(captures: string[]) {
    const dir = await tempDir();
    await copyFile(join(fixtures, capture), join(dir, capture));
    const manifest = {
      machine: { hostname: 'lab', cpuModel: 'x', logicalCores: 2, date: '2026-11-26' },
      tool: 'weighttp',
      load: { requests: 1000000, connections: 4000, threads: 4, keepAlive: true },
      scenarios: [{ id: 'a', label: 'a', payloadBytes: 40, server: 's', captures }],
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return { dir, manifestPath: join(dir, 'manifest.json'), out: join(dir, 'out') };
  }

  /**
   * The import, bounded: a capture that blocks the read (a FIFO without a writer) must be
   * refused, never waited on; a hang fails here instead of hanging the suite.
   */
  async function refusal(manifestPath: string, out: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the import hung')), 10_000);
    });
    try {
      const error = await Promise.race([importCaptures(options(manifestPath, out)), hung]).then(
        () => new Error('imported'),
        (e: unknown) => e,
      );
      expect((error as Error).message).not.toBe('the import hung');
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One line naming the capture and why, and no out dir. */
  function expectOneLine(message: string, name: string, why: RegExp, out: string) {
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain(`scenarios.0.captures.0: ${JSON.stringify(name)}`);
    expect(message).toMatch(why);
    expect(existsSync(out)).toBe(false);
  }

  it('refuses an absolute path and a path that climbs out with ..', async () => {
    for (const name of ['/etc/passwd', '../../../../etc/passwd', `sub/../../${capture}`]) {
      const { manifestPath, out } = await manifestWith([name]);
      const message = await refusal(manifestPath, out);
      expectOneLine(message, name, /relative path inside the manifest's directory/, out);
    }
  });

  it('does not expand ~: ~/.ssh/id_rsa is a file of the manifest directory, which is not there', async () => {
    const { manifestPath, out } = await manifestWith(['~/.ssh/id_rsa']);
    expectOneLine(await refusal(manifestPath, out), '~/.ssh/id_rsa', /cannot read \(ENOENT\)/, out);
  });

  it('refuses a symlink, or a symlinked directory, that leads out of the manifest directory', async () => {
    const { dir, manifestPath, out } = await manifestWith(['leak.txt']);
    await symlink('/etc/passwd', join(dir, 'leak.txt'));
    expectOneLine(
      await refusal(manifestPath, out),
      'leak.txt',
      /leads outside the manifest's directory/,
      out,
    );

    const other = await manifestWith(['etc/passwd']);
    await symlink('/etc', join(other.dir, 'etc'));
    expectOneLine(
      await refusal(other.manifestPath, other.out),
      'etc/passwd',
      /leads outside the manifest's directory/,
      other.out,
    );
  });

  it('follows a symlink that stays inside the manifest directory', async () => {
    const { dir, manifestPath, out } = await manifestWith(['logs/run.txt']);
    await mkdir(join(dir, 'logs'));
    await symlink(join('..', capture), join(dir, 'logs/run.txt'));
    const results = await importCaptures(options(manifestPath, out));
    expect(results.scenarios[0]!.repetitions[0]!.verdict.valid).toBe(true);
    const raw = results.scenarios[0]!.repetitions[0]!.load.rawOutputPath!;
    expect(await readFile(join(out, raw), 'utf8')).toBe(await readFile(join(dir, capture), 'utf8'));
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const { dir, manifestPath, out } = await manifestWith(['fifo.txt']);
    const fifo = join(dir, 'fifo.txt');
    await execa('mkfifo', [fifo]);
    try {
      expectOneLine(await refusal(manifestPath, out), 'fifo.txt', /not a regular file/, out);
    } finally {
      // Were a reader still blocked on the FIFO, a writer that comes and goes releases it.
      const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => null);
      await writer?.close();
    }
  });

  it('refuses a device, linked from outside or made inside', async () => {
    const { dir, manifestPath, out } = await manifestWith(['zero.txt']);
    await symlink('/dev/zero', join(dir, 'zero.txt'));
    expectOneLine(
      await refusal(manifestPath, out),
      'zero.txt',
      /leads outside the manifest's directory/,
      out,
    );
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses a device node inside the manifest directory (root)',
    async () => {
      const { dir, manifestPath, out } = await manifestWith(['null.txt']);
      // /dev/null's numbers: reads end at once, so a missed check would import it, not hang.
      await execa('mknod', [join(dir, 'null.txt'), 'c', '1', '3']);
      expectOneLine(await refusal(manifestPath, out), 'null.txt', /not a regular file/, out);
    },
  );

  it('refuses a capture larger than 64 MiB', async () => {
    const { dir, manifestPath, out } = await manifestWith(['huge.txt']);
    // Sparse: takes no disk.
    await writeFile(join(dir, 'huge.txt'), '');
    await truncate(join(dir, 'huge.txt'), 64 * 2 ** 20 + 1);
    expectOneLine(await refusal(manifestPath, out), 'huge.txt', /larger than 64 MiB/, out);
  });

  it('pnpm bench import: exit 2, one line naming the capture, no out dir', async () => {
    const { manifestPath, out } = await manifestWith([capture, '../../../../etc/passwd']);
    const cli = scaleupCliCommand(['bench', 'import', manifestPath, '--out', out]);
    const run = await execa(cli.file, cli.args, { reject: false, timeout: 60_000 });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('scenarios.0.captures.1: "../../../../etc/passwd"');
    expect(existsSync(out)).toBe(false);
  }, 90_000);
});
