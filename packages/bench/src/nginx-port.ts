import { readFile } from 'node:fs/promises';
import { NGINX_READY_LINE } from '@scaleup/core';
import { detectNginx, startNginx } from '@scaleup/nginx';
import type { NginxPort } from './ports.ts';
import {
  allocatePortOn,
  processTreeOn,
  readLocalFile,
  type ServerPlace,
  type ServerUnderTest,
  SupervisedServer,
} from './servers.ts';

type Settings = Record<string, string | number | boolean | null>;

/** nginx's settings as results.json records them: plain values, anything else as JSON. */
function flatSettings(settings: object): Settings {
  const flat: Settings = {};
  for (const [key, value] of Object.entries(settings)) {
    flat[key] =
      value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? value
        : JSON.stringify(value);
  }
  return flat;
}

/**
 * nginx as a server under test: the nginx package does the work here; on another host the
 * scaleup CLI there runs it (`scaleup nginx --ready-json`) under the group leader.
 */
export const nginxPort: NginxPort = {
  async detect() {
    const found = await detectNginx();
    return found.ok
      ? { version: found.version, path: found.path, missing: null }
      : { version: null, path: null, missing: `${found.reason}; ${found.installHint}` };
  },
  async start(options) {
    if (options.place.host.kind !== 'local') return startNginxOn(options.place, options);
    const nginx = await startNginx({
      host: options.place.listenAddress,
      payloadBytes: options.payloadBytes,
      workers: options.workers,
      preset: options.preset,
      connections: options.connections,
      backlog: options.backlog,
      cpus: options.cpus,
      keepErrorLogAt: options.logPath,
    });
    return {
      url: nginx.url,
      host: 'local',
      readFile: readLocalFile,
      description: {
        kind: 'nginx',
        preset: options.preset,
        workers: options.workers,
        version: nginx.version,
        settings: flatSettings(nginx.settings),
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

interface ReadyNginx {
  url: string;
  version: string | null;
  masterPid: number;
  workerPids: number[];
  settings: object;
}

async function startNginxOn(
  place: ServerPlace,
  options: Parameters<NginxPort['start']>[0],
): Promise<ServerUnderTest> {
  const port = await allocatePortOn(place);
  const server = new SupervisedServer(
    place,
    'nginx',
    place.cli([
      ...[
        'nginx',
        '--port',
        String(port),
        '--host',
        place.listenAddress,
        '--payload',
        String(options.payloadBytes),
      ],
      ...['--workers', String(options.workers), '--preset', options.preset],
      ...['--connections', String(options.connections), '--backlog', String(options.backlog), '--ready-json'],
      ...(options.cpus === undefined ? [] : ['--cpus', options.cpus.join(',')]),
    ]),
    { cpus: undefined, logPath: options.logPath },
  );
  const ready = await new Promise<ReadyNginx>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`nginx on ${place.host.name} not ready within 30 s`)),
      30_000,
    );
    const onLine = (line: string) => {
      if (!line.startsWith(`${NGINX_READY_LINE} `)) return;
      clearTimeout(timer);
      server.process.stderr.off('line', onLine);
      resolve(JSON.parse(line.slice(NGINX_READY_LINE.length + 1)) as ReadyNginx);
    };
    server.process.stderr.on('line', onLine);
    void server.process.exited.then(async () => {
      clearTimeout(timer);
      const log = await readFile(options.logPath, 'utf8').catch(() => '');
      reject(
        new Error(
          `nginx on ${place.host.name} stopped (${server.exitText()}): ${log.trim().split('\n').slice(-3).join(' | ')}`,
        ),
      );
    });
  }).catch(async (error: Error) => {
    await server.stop().catch(() => undefined);
    throw error;
  });
  const { host } = place;
  return {
    url: `http://${place.urlAddress}:${port}/`,
    host: host.name,
    readFile: (path) => host.readFile(path),
    description: {
      kind: 'nginx',
      preset: options.preset,
      workers: options.workers,
      version: ready.version,
      settings: flatSettings(ready.settings),
    },
    async processes() {
      const tree = await processTreeOn(host, ready.masterPid);
      return tree.map((pid) => ({
        pid,
        role: pid === ready.masterPid ? ('nginx-master' as const) : ('nginx-worker' as const),
      }));
    },
    async workerCounters() {
      return null;
    },
    async liveRequests() {
      return null;
    },
    stop: () => server.stop(),
  };
}
