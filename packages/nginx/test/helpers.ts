import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { isAlive } from '@scaleup/core/io';
import { detectNginx } from '../src/detect.ts';
import { NginxError } from '../src/errors.ts';
import type { RunningNginx } from '../src/lifecycle.ts';

const detection = await detectNginx();
/** Why nginx tests are skipped here, or null when nginx is installed (CI installs nginx-light). */
export const nginxMissing: string | null = detection.ok
  ? null
  : `${detection.reason}; ${detection.installHint}`;

/**
 * Tracks what a test started so afterEach can stop it even when the test failed: every nginx,
 * and every prefix a failure kept for inspection.
 */
export class Started {
  private readonly running: RunningNginx[] = [];
  private readonly prefixes = new Set<string>();

  add(nginx: RunningNginx): RunningNginx {
    this.running.push(nginx);
    return nginx;
  }

  keepPrefix(prefix: string | null | undefined): void {
    if (prefix) this.prefixes.add(prefix);
  }

  /** Records the prefix a NginxError kept, then returns the error for assertions. */
  failure(error: unknown): NginxError {
    if (!(error instanceof NginxError)) throw error;
    this.keepPrefix(error.details.prefix);
    return error;
  }

  async cleanup(): Promise<void> {
    for (const nginx of this.running.splice(0)) {
      await nginx
        .stop()
        .catch((error: unknown) =>
          this.keepPrefix(error instanceof NginxError ? error.details.prefix : null),
        );
      this.prefixes.add(nginx.prefix);
    }
    for (const prefix of this.prefixes) await rm(prefix, { recursive: true, force: true });
    this.prefixes.clear();
  }
}

export async function anyAlive(pids: readonly number[]): Promise<number[]> {
  const alive: number[] = [];
  for (const pid of pids) if (await isAlive(pid)) alive.push(pid);
  return alive;
}

/**
 * Sends GET / back to back on one keep-alive connection and returns after how many responses the
 * server announced `Connection: close` (or closed), or `max` when it kept the connection open.
 */
export function keepAliveResponses(port: number, max: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let buffer = Buffer.alloc(0);
    let served = 0;
    const send = () => socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    const finish = (count: number) => {
      socket.destroy();
      resolve(count);
    };
    socket.on('connect', send);
    socket.on('error', reject);
    socket.on('close', () => resolve(served));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.subarray(end + 4 + length);
        served++;
        if (/^connection:\s*close/im.test(head)) return finish(served);
        if (served >= max) return finish(served);
        send();
      }
    });
  });
}
