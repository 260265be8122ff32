import { runLoad } from '@scaleup/driver';
import { detectNginx, type RunningNginx, startNginx } from '@scaleup/nginx';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyServer } from '../../src/steps/verify.ts';
import { judgeRepetition } from '../../src/verdict.ts';

const nginxFound = await detectNginx();
const running: RunningNginx[] = [];
afterEach(async () => {
  for (const nginx of running.splice(0)) await nginx.stop();
});

describe('verification against a real stock nginx (the seed ran exactly this nginx)', () => {
  it.skipIf(!nginxFound.ok)(
    'learns the keep-alive and the closing response forms, and a wrk run over them is valid',
    async () => {
      const nginx = await startNginx({
        host: '127.0.0.1',
        payloadBytes: 40,
        workers: 1,
        preset: 'stock',
        connections: 16,
        backlog: 511,
        cpus: undefined,
      });
      running.push(nginx);
      const verification = await verifyServer(nginx.url, 40, true);
      expect(verification.ok).toBe(true);
      expect(verification.closeAfterRequests).toBe(100);
      const [keep, closing] = verification.responseForms;
      expect(keep?.closes).toBe(false);
      expect(closing?.closes).toBe(true);
      expect(closing!.bytes).toBeLessThan(keep!.bytes);
      // wrk reconnects after every 100th response and counts only total bytes.
      const load = await runLoad(
        {
          url: nginx.url,
          connections: 8,
          threads: 1,
          keepAlive: true,
          durationSeconds: 1,
          expectedBodyBytes: 40,
        },
        { tool: 'wrk' },
      );
      expect(load.requests.succeeded).toBeGreaterThan(1000);
      const verdict = judgeRepetition({
        load,
        expectedBodyBytes: 40,
        serverCpuUtilisation: null,
        inFlightResponses: 8,
        responseForms: verification.responseForms,
        closeAfterRequests: verification.closeAfterRequests,
        connections: 8,
      });
      expect(verdict.reasons).toEqual([]);
      // Judged with the keep-alive size only, as before, the same run was invalid (whenever the
      // missing bytes of the closing responses exceed what partial responses could make up).
      const missing = Math.floor(load.requests.succeeded / 100 - 8) * (keep!.bytes - closing!.bytes);
      if (missing <= 8 * keep!.bytes) return;
      const before = judgeRepetition({
        load,
        expectedBodyBytes: 40,
        serverCpuUtilisation: null,
        inFlightResponses: 8,
        responseBytes: keep!.bytes,
      });
      expect(before.valid).toBe(false);
    },
  );
});
