import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { allocatePort, httpGet, isPortFree, waitFor } from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';
import { nginxMissing } from './helpers.ts';

// The CLI command lives in packages/cli; it is tested here because all it does is drive this package.
const cli = fileURLToPath(new URL('./fixtures/cli.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: packageDir,
    encoding: 'utf8',
  });
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

describe('pnpm nginx', () => {
  it('prints help', () => {
    const result = runCli(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--preset NAME');
    expect(result.stdout).toContain('--print-config');
  });

  it('prints the config it would use', () => {
    const result = runCli([
      '--print-config',
      '--workers',
      '3',
      '--payload',
      '10000',
      '--preset',
      'tuned',
      '--port',
      '8090',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('worker_processes 3;');
    expect(result.stdout).toContain('keepalive_requests 10000000;');
    expect(result.stdout).toContain('listen 127.0.0.1:8090 default_server backlog=511;');
  });

  it('prints the config with its settings as JSON', () => {
    const result = runCli(['--print-config', '--json', '--connections', '4000']);
    expect(result.status, result.stderr).toBe(0);
    const { text, settings } = JSON.parse(result.stdout);
    expect(settings.workerConnections).toBe(8064);
    expect(text).toContain('worker_connections 8064;');
  });

  it.each([
    [['--preset', 'fast'], /--preset must be one of stock, tuned/],
    [['--workers', '0'], /--workers must be between 1/],
    [['--cpus', 'abc'], /--cpus must be a CPU list/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--json'], /--json only goes with --print-config/],
  ])('rejects %o in one line with exit code 2', (args, message) => {
    const result = runCli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.skipIf(nginxMissing !== null)(
    `runs nginx until SIGTERM, then stops it and removes its prefix${nginxMissing ? ` — skipped: ${nginxMissing}` : ''}`,
    async () => {
      const port = await allocatePort();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', cli, '--port', String(port), '--payload', '40', '--workers', '2'],
        { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let prefix = '';
      cleanup.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        if (prefix) await rm(prefix, { recursive: true, force: true });
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout });
        lines.on('line', (line) => {
          stdout += `${line}\n`;
          if (line === 'Ctrl-C to stop') resolve();
        });
        exited.then(() => reject(new Error(`CLI exited early: ${stdout}${stderr}`)));
      });
      expect(stdout).toContain(`http://127.0.0.1:${port}/`);
      const configPath = /config (\S+)/.exec(stdout)?.[1] ?? '';
      prefix = configPath.replace(/\/conf\/nginx\.conf$/, '');
      expect(existsSync(configPath)).toBe(true);

      const response = await httpGet(`http://127.0.0.1:${port}/`);
      expect(response.body.toString()).toBe('*'.repeat(40));

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/stopped \(SIGTERM; master ended by QUIT/);
      // The kernel closes the listening socket a moment after nginx's last process is gone.
      await waitFor(async () => ((await isPortFree(port)) ? true : undefined), {
        timeoutMs: 10_000,
        what: `port ${port} to be free after the stop`,
      });
      expect(existsSync(prefix)).toBe(false);
    },
  );
});
