import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  allocatePort,
  allowedCpus,
  httpGet,
  isAlive,
  isPortFree,
  pidsMatching,
  waitFor,
} from '@scaleup/core/io';
import { afterEach, describe, expect, it } from 'vitest';
import { NginxError } from '../src/errors.ts';
import { startNginx } from '../src/lifecycle.ts';
import { listenBacklogs, readSomaxconn } from '../src/system.ts';
import { anyAlive, keepAliveResponses, nginxMissing, Started } from './helpers.ts';

const started = new Started();
afterEach(() => started.cleanup());

describe.skipIf(nginxMissing !== null)(
  `startNginx (real nginx)${nginxMissing ? ` — skipped: ${nginxMissing}` : ''}`,
  () => {
    it.each([
      ['stock', 40],
      ['stock', 10_000],
      ['tuned', 40],
      ['tuned', 10_000],
    ] as const)(
      '%s preset serves %i bytes of * and stops leaving nothing behind',
      async (preset, payloadBytes) => {
        const nginx = started.add(await startNginx({ preset, payloadBytes, workers: 2 }));
        expect(nginx.settings.preset).toBe(preset);
        expect(nginx.version).toMatch(/^\d+\.\d+/);
        expect(nginx.configPath.startsWith(nginx.prefix)).toBe(true);

        const response = await httpGet(nginx.url);
        expect(response.status).toBe(200);
        expect(response.headers['content-length']).toBe(String(payloadBytes));
        expect(response.body.toString('latin1')).toBe('*'.repeat(payloadBytes));
        expect(response.headers.server).toMatch(/^nginx/);

        const workers = await nginx.workerPids();
        expect(workers).toHaveLength(2);
        expect(workers.sort()).toEqual([...nginx.initialWorkerPids].sort());

        const report = await nginx.stop();
        expect(report.stoppedBy).toBe('QUIT');
        expect(report.errorLogProblems).toEqual([]);
        expect(await anyAlive([nginx.masterPid, ...workers])).toEqual([]);
        expect(await isPortFree(nginx.port, nginx.host)).toBe(true);
        expect(existsSync(nginx.prefix)).toBe(false);
        expect(await pidsMatching(nginx.prefix)).toEqual([]);
        // A second stop is harmless.
        expect(await nginx.stop()).toEqual(report);
      },
    );

    it('stock closes keep-alive connections after 100 requests, as the seed measured; tuned does not', async () => {
      const stock = started.add(await startNginx({ preset: 'stock', payloadBytes: 40, workers: 1 }));
      expect(await keepAliveResponses(stock.port, 150)).toBe(100);
      const tuned = started.add(await startNginx({ preset: 'tuned', payloadBytes: 40, workers: 1 }));
      expect(await keepAliveResponses(tuned.port, 1500)).toBe(1500);
    });

    it('reports a config nginx rejects with nginx own message and keeps the config for inspection', async () => {
      const logDir = await mkdtemp(join(tmpdir(), 'scaleup-nginx-test-logs-'));
      started.keepPrefix(logDir);
      const error = await startNginx({
        payloadBytes: 40,
        workers: 1,
        extraDirectives: { http: ['bogus_directive on;'] },
        keepErrorLogAt: join(logDir, 'nginx-error.log'),
      }).then(
        () => {
          throw new Error('nginx accepted a bogus directive');
        },
        (e: unknown) => started.failure(e),
      );
      expect(error).toBeInstanceOf(NginxError);
      expect(error.details.stage).toBe('validate');
      expect(error.message).toContain('unknown directive "bogus_directive"');
      expect(error.details.nginxMessage).toContain('test failed');
      expect(error.details.prefix).toBeTruthy();
      expect(readFileSync(error.details.configPath ?? '', 'utf8')).toContain('bogus_directive on;');
      expect(readFileSync(join(logDir, 'nginx-error.log'), 'utf8')).toContain(
        'unknown directive "bogus_directive"',
      );
    });

    it('copies the error log out of the prefix when asked, before removing the prefix', async () => {
      const logDir = await mkdtemp(join(tmpdir(), 'scaleup-nginx-test-logs-'));
      started.keepPrefix(logDir);
      const keepErrorLogAt = join(logDir, 'nginx-error.log');
      const nginx = started.add(await startNginx({ payloadBytes: 40, workers: 1, keepErrorLogAt }));
      await nginx.stop();
      expect(existsSync(nginx.prefix)).toBe(false);
      expect(existsSync(keepErrorLogAt)).toBe(true);
    });

    it('removes the prefix of a failed start on request', async () => {
      const error = await startNginx({
        payloadBytes: 40,
        workers: 1,
        keepPrefixOnFailure: false,
        extraDirectives: { main: ['worker_processes_typo 2;'] },
      }).then(
        () => null,
        (e: unknown) => started.failure(e),
      );
      expect(error?.details.prefix).toBeNull();
      expect(error?.message).toContain('worker_processes_typo');
    });

    it('reports a port already taken with nginx own message and leaves no nginx behind', async () => {
      const port = await allocatePort();
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
      try {
        const error = await startNginx({ port, payloadBytes: 40, workers: 1 }).then(
          () => null,
          (e: unknown) => started.failure(e),
        );
        expect(error?.details.stage).toBe('start');
        expect(error?.message).toContain('Address already in use');
        expect(error?.message).toContain('still could not bind()');
        expect(await pidsMatching(error?.details.prefix ?? '/nonexistent')).toEqual([]);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    it('fails at once when nginx answers with anything but the payload, and stops it', async () => {
      const begun = Date.now();
      const error = await startNginx({
        payloadBytes: 40,
        workers: 1,
        extraDirectives: { server: ['return 503;'] },
        // A long deadline: failing far before it shows the wrong answer stopped the wait.
        readyTimeoutMs: 60_000,
      }).then(
        () => null,
        (e: unknown) => started.failure(e),
      );
      expect(error?.details.stage).toBe('ready');
      expect(error?.message).toContain('status 503');
      expect(Date.now() - begun).toBeLessThan(30_000);
      expect(await pidsMatching(error?.details.prefix ?? '/nonexistent')).toEqual([]);
    });

    it('listens with the requested backlog, as ss -ltn shows it', async () => {
      const somaxconn = (await readSomaxconn()) ?? Number.POSITIVE_INFINITY;
      const nginx = started.add(await startNginx({ payloadBytes: 40, workers: 1, backlog: 300 }));
      expect(await listenBacklogs(nginx.port)).toEqual([Math.min(300, somaxconn)]);
      expect(nginx.settings.listen).toContain('backlog=300');
    });

    it('with reuseport every worker has its own socket with the backlog', async () => {
      const nginx = started.add(
        await startNginx({ preset: 'tuned', payloadBytes: 40, workers: 2, backlog: 200, reuseport: true }),
      );
      expect(await listenBacklogs(nginx.port)).toEqual([200, 200]);
    });

    it('pins master and workers to the requested CPUs with taskset', async (context) => {
      const cpus = allowedCpus();
      if (cpus.length < 2) context.skip('needs two CPUs to tell pinning from no pinning');
      const cpu = cpus[cpus.length - 1] ?? 0;
      const nginx = started.add(await startNginx({ payloadBytes: 40, workers: 2, cpus: [cpu] }));
      expect(nginx.settings.cpuPinning).toEqual({ method: 'taskset', cpus: [cpu] });
      for (const pid of [nginx.masterPid, ...(await nginx.workerPids())]) {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        expect(/^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]).toBe(String(cpu));
      }
    });

    it('when the master dies, stop() kills the orphaned workers and reports the death with the log', async () => {
      const nginx = started.add(await startNginx({ payloadBytes: 40, workers: 2 }));
      const workers = await nginx.workerPids();
      process.kill(nginx.masterPid, 'SIGKILL');
      await nginx.exited;
      expect(nginx.hasExited()).toBe(true);
      const error = await nginx.stop().then(
        () => null,
        (e: unknown) => started.failure(e),
      );
      expect(error?.details.stage).toBe('run');
      expect(error?.message).toContain('signal SIGKILL');
      await waitFor(async () => ((await anyAlive(workers)).length === 0 ? true : undefined), {
        timeoutMs: 10_000,
        what: `the orphaned workers ${workers.join(', ')} to be gone`,
      });
      await waitFor(async () => ((await isPortFree(nginx.port)) ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the port to be free',
      });
      expect(await isAlive(nginx.masterPid)).toBe(false);
    });
  },
);
