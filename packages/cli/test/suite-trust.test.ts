import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_DIR, scaleupCliCommand } from '@scaleup/bench';
import type { Scenario } from '@scaleup/core';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outsideCheckout, suiteListing } from '../src/suite-trust.ts';

const insideSuite = fileURLToPath(new URL('fixtures/marked-suite.json', import.meta.url));
const profiles = join(REPO_DIR, 'scenarios/profiles.json');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-suite-trust-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const commandScenario = (server: Partial<Extract<Scenario['server'], { kind: 'command' }>>): Scenario => ({
  id: 'mine',
  label: 'mine',
  payloadBytes: 40,
  baseline: false,
  server: { kind: 'command', command: ['./srv', '--port', '{port}'], readyTimeoutSeconds: 30, ...server },
});
const noRemote = { loadHosts: [], serverHost: null, sshConfig: undefined, remoteDir: undefined };

describe('which files are the checkout own', () => {
  it('tells a path inside the checkout from one outside, following symlinks', async () => {
    expect(outsideCheckout(join(REPO_DIR, 'scenarios/seed.json'))).toBe(false);
    expect(outsideCheckout(join(dir, 'suite.json'))).toBe(true);
    expect(outsideCheckout(`${REPO_DIR}-other/suite.json`)).toBe(true);
    await mkdir(join(dir, 'checkout'));
    await symlink('/etc', join(dir, 'checkout/etc'));
    expect(outsideCheckout(join(dir, 'checkout/etc/passwd'), join(dir, 'checkout'))).toBe(true);
    expect(outsideCheckout(join(dir, 'checkout/suite.json'), join(dir, 'checkout'))).toBe(false);
  });
});

describe('the listing of a suite from outside the checkout', () => {
  it('names every program, its environment, the ssh config and the hosts, escaped', () => {
    const text = suiteListing({
      suitePath: join(dir, 'suite.json'),
      profilesPath: profiles,
      scenarios: [
        commandScenario({ check: ['python3', '--version'], env: { LD_PRELOAD: '/tmp/x.so' }, cwd: 'srv' }),
        {
          id: 'ours',
          label: 'ours',
          payloadBytes: 40,
          baseline: true,
          server: { kind: 'nginx' },
        } as Scenario,
        { ...commandScenario({ command: ['sh', '-c', 'echo hi\n\u001b]0;owned\u0007'] }), id: 'evil' },
      ],
      remote: { loadHosts: ['lab1', 'lab2'], serverHost: null, sshConfig: '/tmp/cfg', remoteDir: undefined },
    })!;
    expect(text).toContain(`suite ${join(dir, 'suite.json')} comes from outside this checkout`);
    expect(text).toContain('  mine check, here: python3 --version (in srv)');
    expect(text).toContain('  mine server, here: LD_PRELOAD=/tmp/x.so ./srv --port {port} (in srv)');
    expect(text).toContain('  evil server, here: sh -c "echo hi\\n\\u001b]0;owned\\u0007"');
    expect(text).not.toContain('\u001b');
    expect(text).toContain('  ssh config /tmp/cfg: its ProxyCommand and Match exec lines run here');
    expect(text).toContain('  load hosts over ssh: lab1, lab2');
    expect(text.split('\n').some((line) => line.includes('ours'))).toBe(false);
  });

  it('says where the server host runs them, and names the remote checkout', () => {
    const text = suiteListing({
      suitePath: join(dir, 'suite.json'),
      profilesPath: profiles,
      scenarios: [commandScenario({})],
      remote: { ...noRemote, serverHost: 'box', remoteDir: '/srv/scaleup' },
    })!;
    expect(text).toContain('  mine server, on box: ./srv --port {port}');
    expect(text).toContain('  server host over ssh: box');
    expect(text).toContain('/srv/scaleup');
  });

  it('lists a profiles file from outside too, and nothing for the checkout own files', () => {
    const scenarios = [commandScenario({})];
    expect(
      suiteListing({ suitePath: insideSuite, profilesPath: profiles, scenarios, remote: noRemote }),
    ).toBeNull();
    expect(
      suiteListing({
        suitePath: insideSuite,
        profilesPath: join(dir, 'p.json'),
        scenarios,
        remote: noRemote,
      }),
    ).toMatch(/^scaleup bench: the profiles .*p\.json comes from outside this checkout/);
  });
});

describe('pnpm bench with a suite of commands', () => {
  /** Runs the suite; the CLI's stderr and the marks of the suite's check go to one file, in order. */
  async function run(suite: string) {
    const log = join(dir, 'stderr.log');
    const cli = scaleupCliCommand([
      'bench',
      '--suite',
      suite,
      '--profile',
      'smoke',
      '--tool',
      'autocannon',
      '--no-report',
      '--out',
      join(dir, 'out'),
    ]);
    const child = await execa(cli.file, cli.args, {
      reject: false,
      timeout: 90_000,
      stderr: { file: log, append: true },
      env: { SCALEUP_TEST_MARK: log },
    });
    return { exitCode: child.exitCode, log: await readFile(log, 'utf8') };
  }

  it('from outside the checkout: lists what it will run before it starts anything', async () => {
    const suite = join(dir, 'suite.json');
    await copyFile(insideSuite, suite);
    const { exitCode, log } = await run(suite);
    expect(exitCode, log).not.toBe(2);
    const listing = log.indexOf(`suite ${suite} comes from outside this checkout`);
    const ran = log.indexOf('CHECK-RAN');
    expect(listing, log).toBeGreaterThanOrEqual(0);
    expect(ran, log).toBeGreaterThan(listing);
    expect(log).toContain('  marked check, here: sh -c "echo CHECK-RAN >> \\"$SCALEUP_TEST_MARK\\"; exit 1"');
    expect(log).toContain('  marked server, here: node -e "process.exit(1)"');
  }, 120_000);

  it('from the checkout: no listing', async () => {
    const { exitCode, log } = await run(insideSuite);
    expect(exitCode, log).not.toBe(2);
    expect(log, log).toContain('CHECK-RAN');
    expect(log).not.toContain('from outside this checkout');
  }, 120_000);
});
