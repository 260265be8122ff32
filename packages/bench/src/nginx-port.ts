import { detectNginx, startNginx } from '@scaleup/nginx';
import type { NginxPort } from './runner.ts';
import { readLocalFile } from './servers.ts';

/** nginx as a server under test: the nginx package does the work, this only adapts shapes. */
export const nginxPort: NginxPort = {
  async detect() {
    const found = await detectNginx();
    return found.ok
      ? { version: found.version, path: found.path, missing: null }
      : { version: null, path: null, missing: `${found.reason}; ${found.installHint}` };
  },
  async start(options) {
    const nginx = await startNginx({
      host: options.host,
      payloadBytes: options.payloadBytes,
      workers: options.workers,
      preset: options.preset,
      connections: options.connections,
      backlog: options.backlog,
      cpus: options.cpus,
      keepErrorLogAt: options.logPath,
    });
    const settings: Record<string, string | number | boolean | null> = {};
    for (const [key, value] of Object.entries(nginx.settings)) {
      settings[key] =
        value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
          ? value
          : JSON.stringify(value);
    }
    return {
      url: nginx.url,
      host: 'local',
      readFile: readLocalFile,
      description: {
        kind: 'nginx',
        preset: options.preset,
        workers: options.workers,
        version: nginx.version,
        settings,
      },
      async processes() {
        if (nginx.hasExited()) return [];
        const workers = await nginx.workerPids();
        return [
          { pid: nginx.masterPid, role: 'nginx-master' as const },
          ...workers.map((pid) => ({ pid, role: 'nginx-worker' as const })),
        ];
      },
      async workerCounters() {
        return null;
      },
      async liveRequests() {
        return null;
      },
      async stop() {
        await nginx.stop();
      },
    };
  },
};
