import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoadToolName, UsageError } from '@scaleup/core';
import { allocatePort, pidsMatching, waitFor } from '@scaleup/core/io';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterFor, runLoad } from '../src/index.ts';
import { startServer } from './support/http-server.ts';

const PAYLOAD = 40;
const installed = Object.fromEntries(
  await Promise.all(
    (['h2load', 'wrk', 'autocannon'] as const).map(async (tool) => [
      tool,
      (await adapterFor(tool).detect()).found,
    ]),
  ),
) as Record<'h2load' | 'wrk' | 'autocannon', boolean>;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaleup-driver-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Small bounded loads: a count for tools that have one, one second for wrk. */
function modeFor(tool: LoadToolName) {
  return tool === 'wrk' ? { durationSeconds: 1 } : { requests: 2000 };
}

describe.each(['h2load', 'wrk', 'autocannon'] as const)('%s against a real server', (tool) => {
  it.skipIf(!installed[tool])('counts add up and the raw output re-parses', async () => {
    const server = await startServer(PAYLOAD);
    try {
      const rawOutputPath = join(dir, tool, 'raw.txt');
      const result = await runLoad(
        {
          url: server.url,
          ...modeFor(tool),
          connections: 8,
          threads: 2,
          keepAlive: true,
          expectedBodyBytes: PAYLOAD,
          timeoutSeconds: 20,
        },
        { tool, rawOutputPath },
      );
      const { done, succeeded, failed, errored } = result.requests;
      expect(result.completed).toBe(true);
      expect(result.errors).toEqual([]);
      expect(succeeded + failed + errored).toBe(done);
      expect(succeeded).toBeGreaterThan(0);
      expect(failed + errored).toBe(0);
      if (tool !== 'wrk') expect(done).toBe(2000);
      if (result.bytes.body !== null) expect(result.bytes.body).toBe(succeeded * PAYLOAD);
      expect(result.requestsPerSecond).toBeCloseTo(succeeded / result.elapsedSeconds, 6);
      expect(result.toolCpu).not.toBeNull();
      expect(result.toolCpu?.cores).toBeGreaterThan(0);
      expect(result.rawOutputPath).toBe(rawOutputPath);
      const again = adapterFor(tool).parse(await readFile(rawOutputPath, 'utf8'), '', 0);
      expect(again.requests).toEqual(result.requests);
    } finally {
      await server.close();
    }
  });

  it.skipIf(!installed[tool])('counts 404s as failures with no throughput', async () => {
    const server = await startServer(PAYLOAD, 'notfound');
    try {
      const result = await runLoad(
        {
          url: server.url,
          ...modeFor(tool),
          connections: 4,
          threads: 1,
          keepAlive: true,
          timeoutSeconds: 20,
        },
        { tool },
      );
      expect(result.requests.succeeded).toBe(0);
      // Unpinned with one thread: its busy share is of the one core it can use.
      expect(result.toolCpu?.cores).toBe(1);
      expect(result.requests.failed).toBeGreaterThan(0);
      expect(result.requestsPerSecond).toBe(0);
      expect(result.errors.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});

describe('runner', () => {
  it.skipIf(!installed.h2load)('counts refused connections as errored', async () => {
    const port = await allocatePort();
    const result = await runLoad(
      {
        url: `http://127.0.0.1:${port}/`,
        requests: 100,
        connections: 4,
        threads: 1,
        keepAlive: true,
        timeoutSeconds: 10,
      },
      { tool: 'h2load' },
    );
    expect(result.requests).toMatchObject({ succeeded: 0, errored: 100, done: 100 });
    expect(result.requestsPerSecond).toBe(0);
  });

  it.skipIf(!installed.h2load)('kills the tool at the time bound and says so', async () => {
    const server = await startServer(PAYLOAD, 'silent');
    try {
      const started = Date.now();
      const result = await runLoad(
        { url: server.url, requests: 100, connections: 4, threads: 1, keepAlive: true, timeoutSeconds: 1 },
        { tool: 'h2load' },
      );
      // The silent server never answers: far below forever, the 1 s bound killed the tool.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(result.completed).toBe(false);
      expect(result.errors[0]).toBe('killed after the 1 s time bound');
      expect(result.requestsPerSecond).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('refuses bad specs before anything runs', async () => {
    await expect(
      runLoad(
        { url: 'http://10.1.2.3/', requests: 10, connections: 1, threads: 1, keepAlive: true },
        { tool: 'autocannon' },
      ),
    ).rejects.toThrow(UsageError);
    await expect(
      runLoad(
        { url: 'http://127.0.0.1:1/', requests: 10, connections: 1, threads: 1, keepAlive: true },
        { tool: 'wrk' },
      ),
    ).rejects.toThrow(/no request-count mode/);
  });

  it.each(['h2load', 'autocannon'] as const)(
    'leaves no %s process behind when the driver is SIGKILLed',
    async (tool) => {
      if (!installed[tool]) return;
      const server = await startServer(PAYLOAD);
      const needle = server.url.replace('http://', '');
      const script = fileURLToPath(new URL('./support/long-load.ts', import.meta.url));
      const driver = execa('node', ['--import', 'tsx', script, tool], {
        env: { LONG_LOAD_URL: server.url },
        reject: false,
        buffer: false,
      });
      try {
        const toolPid = await waitFor(
          async () => {
            const pids = (await pidsMatching(needle)).filter((pid) => pid !== driver.pid);
            return pids.length > 0 ? pids[0] : undefined;
          },
          { timeoutMs: 15_000, what: `${tool} to start` },
        );
        expect(toolPid).toBeGreaterThan(0);
        driver.kill('SIGKILL');
        await driver;
        await waitFor(async () => ((await pidsMatching(needle)).length === 0 ? true : undefined), {
          timeoutMs: 10_000,
          what: `no ${tool} process left`,
        });
      } finally {
        driver.kill('SIGKILL');
        await server.close();
      }
    },
  );
});
