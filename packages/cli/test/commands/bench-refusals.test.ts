import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR, scaleupCliCommand } from '@scaleup/bench';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * `pnpm bench` refusing bad input: exit 2, one line, and nothing left behind, under a results
 * root of its own (SCALEUP_RESULTS_DIR) that already holds a run `latest` points at.
 */
let dir: string;
let root: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-bench-refusals-'));
  root = join(dir, 'results');
  await mkdir(join(root, 'earlier-run'), { recursive: true });
  await symlink('earlier-run', join(root, 'latest'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function bench(args: string[]) {
  const cli = scaleupCliCommand(['bench', '--profile', 'smoke', '--no-report', ...args]);
  return execa(cli.file, cli.args, {
    reject: false,
    timeout: 60_000,
    env: { SCALEUP_RESULTS_DIR: root },
  });
}

async function expectRefusedLeavingNothing(run: Awaited<ReturnType<typeof bench>>, line: RegExp) {
  expect(run.exitCode, run.stderr).toBe(2);
  expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(line);
  expect((await readdir(root)).sort()).toEqual(['earlier-run', 'latest']);
  expect(await readlink(join(root, 'latest'))).toBe('earlier-run');
}

describe('pnpm bench: a destination ssh would take for an option, or that is no host name', () => {
  it('refuses --load-host=-oProxyCommand=... with exit 2 and runs nothing', async () => {
    const pwned = join(dir, 'pwned');
    const run = await bench([`--load-host=-oProxyCommand=touch ${pwned}`]);
    await expectRefusedLeavingNothing(
      run,
      /load host "-oProxyCommand=touch .*" is not an ssh destination: it starts with '-'/,
    );
    expect(existsSync(pwned)).toBe(false);
  });

  it('refuses a --server-host with whitespace or a control character', async () => {
    for (const host of ['lab host', 'lab\u001b]0;owned\u0007']) {
      const run = await bench(['--server-host', host]);
      await expectRefusedLeavingNothing(
        run,
        /server host ".*" is not an ssh destination: it contains whitespace/,
      );
      // Shown, not obeyed.
      expect(run.stderr).not.toContain('\u001b');
    }
  });

  it("refuses a suite's hosts.load that starts with '-'", async () => {
    const suite = join(dir, 'suite.json');
    const seed = JSON.parse(await readFile(join(REPO_DIR, 'scenarios/seed.json'), 'utf8'));
    await writeFile(suite, JSON.stringify({ ...seed, hosts: { load: ['-oProxyCommand=true'] } }));
    const run = await bench(['--suite', suite]);
    await expectRefusedLeavingNothing(run, /load host "-oProxyCommand=true" is not an ssh destination/);
  });
});

describe('pnpm bench --rates and --slo', () => {
  it('refuses a bad rate and a bad objective together, in one line, with exit 2 and nothing written', async () => {
    const run = await bench(['--rates', '25%,fast', '--slo', 'p99=10', '--slo', 'p99=1ms']);
    await expectRefusedLeavingNothing(
      run,
      /rate "fast": give a share of capacity \(75%\) or responses per second.*slo "p99=10": write it as a percentile and a bound/,
    );
  });
});

describe('pnpm bench --out', () => {
  it('refuses an existing file with exit 2 and leaves it as it was', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'mine\n');
    const run = await bench(['--out', file]);
    await expectRefusedLeavingNothing(run, /--out ".*notes\.txt" exists and is not a directory/);
    expect(await readFile(file, 'utf8')).toBe('mine\n');
  });

  it('refuses a path under a file with exit 2', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'mine\n');
    const run = await bench(['--out', join(file, 'run')]);
    await expectRefusedLeavingNothing(run, /--out ".*notes\.txt\/run" lies under a file/);
  });
});
