import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { followExit } from '../src/master.ts';
import { TSX } from './helpers.ts';

const run = promisify(execFile);

/** A worker as the master sees it: events only, `connected` as the IPC channel left it. */
function fakeWorker(connected: boolean) {
  return Object.assign(new EventEmitter(), { connected });
}

function collect() {
  const calls: [number | null, string | null][] = [];
  return { calls, gone: (code: number | null, signal: string | null) => calls.push([code, signal]) };
}

describe('followExit', () => {
  it('reports a worker whose channel had closed as gone at its exit', () => {
    const worker = fakeWorker(false);
    const { calls, gone } = collect();
    followExit(worker, gone);
    worker.emit('exit', 0, null);
    expect(calls).toEqual([[0, null]]);
  });

  it('waits for the channel to close, then reports once', async () => {
    const worker = fakeWorker(true);
    const { calls, gone } = collect();
    followExit(worker, gone);
    worker.emit('exit', null, 'SIGKILL');
    expect(calls).toEqual([]);
    worker.connected = false;
    worker.emit('disconnect');
    expect(calls).toEqual([[null, 'SIGKILL']]);
    // The fallback timer must not report it a second time.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(calls).toHaveLength(1);
  });

  // Regression (CI, a stop during startup): the last worker was SIGKILLed, its exit came while
  // the channel still looked open and no 'disconnect' followed; the fallback timer was unref'd, so
  // the master's event loop emptied first and it exited 0 without writing its 'stopped' snapshot.
  it('reports the exit even when the channel never closes and nothing else keeps the process alive', async () => {
    const master = fileURLToPath(new URL('../src/master.ts', import.meta.url));
    const script = `
      import { EventEmitter } from 'node:events';
      const { followExit } = await import(${JSON.stringify(pathToFileURL(master).href)});
      const worker = Object.assign(new EventEmitter(), { connected: true });
      followExit(worker, (code, signal) => process.stdout.write('gone ' + signal));
      worker.emit('exit', null, 'SIGKILL');
    `;
    const { stdout } = await run(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    expect(stdout).toBe('gone SIGKILL');
  });
});
