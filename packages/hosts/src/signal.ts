import type { Host } from './types.ts';

/**
 * Sends `signal` to `pid` on the host it runs on: directly here, with kill(1) over ssh. A pid
 * already gone here is no error; over ssh a failed kill is an exit code, a lost host rejects.
 */
export async function signalOn(
  host: Host,
  pid: number,
  signal: 'TERM' | 'USR2',
  timeoutMs: number,
): Promise<void> {
  if (host.kind === 'local') {
    try {
      process.kill(pid, `SIG${signal}`);
    } catch {
      // Already gone.
    }
  } else {
    await host.exec('kill', [`-${signal}`, String(pid)], { timeoutMs });
  }
}
