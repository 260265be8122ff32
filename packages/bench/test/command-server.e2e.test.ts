import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseResults } from '@scaleup/core';
import { isAlive, pidsMatching, waitFor } from '@scaleup/core/io';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { scaleupCliCommand } from '../src/servers.ts';

const forkingServer = fileURLToPath(new URL('fixtures/servers/forking_server.py', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  for (const pid of await pidsMatching(forkingServer)) if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** `pnpm bench --profile smoke` on a suite of its own, in a temporary directory. */
async function benchSuite(suite: object) {
  const dir = await mkdtemp(join(tmpdir(), 'scaleup-command-server-'));
  dirs.push(dir);
  await writeFile(join(dir, 'suite.json'), JSON.stringify(suite));
  const out = join(dir, 'out');
  const cli = scaleupCliCommand([
    'bench',
    '--suite',
    join(dir, 'suite.json'),
    '--profile',
    'smoke',
    '--out',
    out,
    '--no-report',
  ]);
  return { child: execa(cli.file, cli.args, { reject: false, timeout: 90_000 }), out };
}

describe('a command server of the seed design (a master whose workers inherit its output)', () => {
  it('is stopped with all its workers, and the run ends', async () => {
    const suite = {
      suite: 'forking',
      scenarios: [
        {
          id: 'fork',
          label: 'forking Python server',
          payloadBytes: 40,
          server: {
            kind: 'command',
            command: [
              'python3',
              forkingServer,
              '--port',
              '{port}',
              '--host',
              '{host}',
              '--workers',
              '2',
              '--payload',
              '{payload}',
            ],
          },
        },
      ],
    };
    const seen = new Set<number>();
    const { child, out } = await benchSuite(suite);
    // The master and both workers while the run goes on.
    await waitFor(
      async () => {
        for (const pid of await pidsMatching(forkingServer)) seen.add(pid);
        return seen.size >= 3 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the forking server and its two workers' },
    );
    const run = await child;
    expect(run.timedOut, 'the run hung after its summary').toBe(false);
    expect(run.exitCode, run.stderr).toBe(0);
    const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.scenarios[0]!.repetitions.every((r) => r.verdict.valid)).toBe(true);
    // Nothing outlives the run: not the master, not a worker holding its stdout. They were
    // killed before the run exited; their exit itself may lag on a busy machine.
    await waitFor(
      async () => {
        if ((await pidsMatching(forkingServer)).length > 0) return undefined;
        for (const pid of seen) if (await isAlive(pid)) return undefined;
        return true;
      },
      { timeoutMs: 10_000, what: `the forking server's processes ${[...seen].join(', ')} to be gone` },
    );
  }, 120_000);

  it('is skipped with its install line when its check fails, and the run goes on', async () => {
    const suite = {
      suite: 'checked',
      scenarios: [
        {
          id: 'needs-x',
          label: 'a server needing a module nobody has',
          payloadBytes: 40,
          server: {
            kind: 'command',
            command: ['python3', forkingServer, '--port', '{port}'],
            check: ['python3', '-c', 'import scaleup_no_such_module'],
            install: 'apt-get install python3-scaleup-no-such-module',
          },
        },
        {
          id: 'ours',
          label: 'scaleup fixed resource',
          payloadBytes: 40,
          server: { kind: 'scaleup', resource: 'fixed' },
        },
      ],
    };
    const { child, out } = await benchSuite(suite);
    const run = await child;
    expect(run.exitCode).toBe(1);
    const results = parseResults(await readFile(join(out, 'results.json'), 'utf8'));
    const skipped = results.scenarios.find((s) => s.id === 'needs-x')!.skipped;
    expect(skipped).toMatch(
      /import scaleup_no_such_module' failed \(ModuleNotFoundError.*\); install: apt-get install python3-scaleup-no-such-module$/,
    );
    expect(results.scenarios.find((s) => s.id === 'ours')!.repetitions.length).toBeGreaterThan(0);
    expect(await pidsMatching(forkingServer)).toEqual([]);
  }, 120_000);
});
