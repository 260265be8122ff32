import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePort, childPids, isAlive, waitFor } from '@scaleup/core/io';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, serverCommand, waitAllGone } from './helpers.ts';

async function statsEvent(path: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { event: string }).event;
  } catch {
    return undefined;
  }
}

describe('master supervisor', () => {
  // Regression: a signal that came while workers were still starting set the master stopping, but
  // the workers' 'listening' messages then still declared it ready: it printed the ready line after
  // the signal and started the --interval timer, which nothing cleared, so the master never exited.
  // Regression (CI): the handlers were installed after 'starting' was written, so a signal right
  // after it ended the master by the default action. Regression: the shutdown request reached
  // workers before their message handler existed and was lost; they were SIGKILLed 4.4 s later.
  // Now they are asked again when they listen, and only a 30 s bound kills one that never does,
  // so a lost request makes the wait below time out.
  it('stops on SIGTERM during startup: no ready line, exits 0, no worker killed or left', async () => {
    const stats = join(tmpdir(), `scaleup-supervisor-${process.pid}-${Date.now()}.json`);
    const port = await allocatePort();
    const command = serverCommand(port, [
      '--workers',
      '2',
      '--resource',
      'fixed',
      '--stats-file',
      stats,
      '--interval',
      '1',
    ]);
    const child = spawn(command.file, command.args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let exit: { code: number | null } | undefined;
    child.on('exit', (code) => (exit = { code }));
    const seen = new Set<number>();
    const remember = async () => {
      for (const pid of await childPids(child.pid!).catch(() => [])) seen.add(pid);
    };
    try {
      // The master writes 'starting' once its handlers are installed, just before it forks the workers.
      await waitFor(async () => ((await statsEvent(stats)) === 'starting' ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 5,
        what: "the stats file's starting event",
      });
      child.kill('SIGTERM');
      const ended = await waitFor(
        async () => {
          await remember();
          return exit;
        },
        { timeoutMs: 25_000, intervalMs: 20, what: 'the master to exit after SIGTERM during startup' },
      );
      expect(ended.code).toBe(0);
      expect(stderr).not.toMatch(/did not stop within/);
      expect(stdout).not.toContain('scaleup server ready');
      expect(await statsEvent(stats)).toBe('stopped');
      await waitAllGone([...seen], 'every worker to be gone');
    } finally {
      if (exit === undefined) child.kill('SIGKILL');
      for (const pid of seen) if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
      await rm(stats, { force: true });
    }
  });
});
