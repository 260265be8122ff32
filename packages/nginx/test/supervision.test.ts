import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isPortFree, waitFor } from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';
import { anyAlive, nginxMissing } from './helpers.ts';

const harness = fileURLToPath(new URL('./fixtures/harness.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

interface Step {
  step: string;
  [key: string]: unknown;
}

const children: ChildProcess[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const prefix of prefixes.splice(0)) await rm(prefix, { recursive: true, force: true });
});

/**
 * Runs the harness as its own node process, never through the tsx CLI: tsx would run the script in
 * a grandchild, and SIGKILLing tsx would leave that grandchild (the real parent of nginx) alive.
 */
function runHarness(mode: 'hang' | 'cycle', options: object, wrapper: string[] = []) {
  const argv = [...wrapper, process.execPath, '--import', 'tsx', harness, mode, JSON.stringify(options)];
  const child = spawn(argv[0] ?? process.execPath, argv.slice(1), {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const steps: Step[] = [];
  const waiters: Array<() => void> = [];
  lines.on('line', (line) => {
    steps.push(JSON.parse(line) as Step);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  closed.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (index: number): Promise<Step> => {
    while (steps.length <= index) {
      if (child.exitCode !== null || child.signalCode !== null) {
        // Lines still in the pipe arrive after the exit: wait for the pipe to close (bounded).
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        if (steps.length > index) break;
        throw new Error(
          `harness exited (${child.exitCode ?? child.signalCode}) before step ${index}: ${stderr}`,
        );
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    return steps[index]!;
  };
  return { child, next, closed };
}

describe.skipIf(nginxMissing !== null)(
  `supervision (real nginx)${nginxMissing ? ` — skipped: ${nginxMissing}` : ''}`,
  () => {
    it('a SIGKILLed harness leaves no nginx behind: the master gets SIGTERM and stops its workers', async () => {
      const run = runHarness('hang', { payloadBytes: 40, workers: 2 });
      const step = await run.next(0);
      expect(step.step, JSON.stringify(step)).toBe('started');
      prefixes.push(step.prefix as string);
      const pids = [step.masterPid as number, ...(step.workerPids as number[])];
      expect(await anyAlive(pids)).toHaveLength(3);

      // The master's death alone does not stop nginx workers (see the lifecycle test that SIGKILLs the
      // master): their exit proves the master got its SIGTERM from the kernel and shut them down.
      run.child.kill('SIGKILL');
      await run.closed;
      const gone = await waitFor(async () => ((await anyAlive(pids)).length === 0 ? true : undefined), {
        timeoutMs: 10_000,
        what: `nginx pids ${pids.join(', ')} to exit after the harness was killed`,
      }).catch(async () => anyAlive(pids));
      expect(gone).toBe(true);
      // The kernel closes the listening socket a moment after its last owner is gone.
      await waitFor(async () => ((await isPortFree(step.port as number)) ? true : undefined), {
        timeoutMs: 10_000,
        what: `port ${step.port} to be free`,
      });
    });

    const asRoot = process.getuid?.() === 0;
    const setpriv = spawnSync('setpriv', ['--version']).status === 0;
    const canDropToNobody =
      asRoot &&
      setpriv &&
      spawnSync(
        'setpriv',
        [
          '--reuid=nobody',
          '--regid=nogroup',
          '--clear-groups',
          process.execPath,
          '--import',
          'tsx',
          '-e',
          '0',
        ],
        {
          cwd: packageDir,
        },
      ).status === 0;
    const nobodyReason = !asRoot
      ? 'these tests already run as an ordinary user'
      : !setpriv
        ? 'setpriv is not installed'
        : canDropToNobody
          ? ''
          : 'user nobody cannot run node and tsx from this checkout';

    it.skipIf(!canDropToNobody)(
      `runs as an ordinary user without a user directive${nobodyReason ? ` — skipped: ${nobodyReason}` : ''}`,
      async () => {
        const run = runHarness('cycle', { payloadBytes: 10_000, workers: 2 }, [
          'setpriv',
          '--reuid=nobody',
          '--regid=nogroup',
          '--clear-groups',
          '--',
        ]);
        const started = await run.next(0);
        expect(started.step, JSON.stringify(started)).toBe('started');
        prefixes.push(started.prefix as string);
        expect(started.uid).toBe(65534);
        expect(started.user).toBeNull();
        expect(await run.next(1)).toEqual({ step: 'fetched', status: 200, bytes: 10_000 });
        const stopped = await run.next(2);
        expect(stopped).toMatchObject({
          step: 'stopped',
          report: { stoppedBy: 'QUIT', errorLogProblems: [] },
        });
        await run.closed;
        expect(run.child.exitCode).toBe(0);
        expect(await anyAlive([started.masterPid as number, ...(started.workerPids as number[])])).toEqual(
          [],
        );
      },
    );

    it.skipIf(!asRoot)(
      'as root the workers run as the worker user and can read the document root',
      async () => {
        const run = runHarness('cycle', { payloadBytes: 40, workers: 1 });
        const started = await run.next(0);
        expect(started.step, JSON.stringify(started)).toBe('started');
        prefixes.push(started.prefix as string);
        expect(started.user).toMatch(/^(www-data|nobody) /);
        const workerUser = String(started.user).split(' ')[0];
        const workerUid = Number(
          spawnSync('id', ['-u', workerUser ?? ''])
            .stdout.toString()
            .trim(),
        );
        expect(started.workerUids).toEqual([workerUid]);
        expect(await run.next(1)).toEqual({ step: 'fetched', status: 200, bytes: 40 });
        await run.closed;
      },
    );
  },
);
