import { NGINX_READY_LINE, UsageError } from '@scaleup/core';
import { allowedCpus, parseCpuList } from '@scaleup/core/io';
import {
  DEFAULT_BACKLOG,
  DEFAULT_CONNECTIONS,
  defaultWorkerUser,
  NGINX_PRESETS,
  readNofileHardLimit,
  renderNginxConfig,
  startNginx,
} from '@scaleup/nginx';
import { choiceOption, intOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: pnpm nginx [options]

Runs a real nginx, configured for one benchmark scenario, in the foreground until Ctrl-C or
SIGTERM; then stops it gracefully and removes its private temporary prefix.

  --port N           port to listen on (default 8090)
  --host ADDR        address to listen on (default 127.0.0.1)
  --payload BYTES    size of index.html, bytes of '*' as in the seed (default 40)
  --workers N        worker_processes: match the server it is compared with (default 1)
  --preset NAME      stock (Debian's config as the seed ran it) or tuned (default stock)
  --connections N    concurrency of the planned run; sizes worker_connections (default ${DEFAULT_CONNECTIONS})
  --backlog N        listen backlog, capped by net.core.somaxconn (default ${DEFAULT_BACKLOG})
  --reuseport        one listening socket per worker (SO_REUSEPORT)
  --cpus LIST        pin master and workers with taskset, e.g. 1 or 0-1
  --print-config     print the config that would be used and exit (--json: with its settings)
  --ready-json       once serving, print one line '${NGINX_READY_LINE} {json}' on stderr (url,
                     version, pids, settings): how the benchmark runs nginx on another host
  --json             with --print-config: print {text, settings} as JSON
  -h, --help         this text

See docs/nginx.md for every setting of both presets.`;

function cpusOption(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  if (!/^[\d,-]+$/.test(value))
    throw new UsageError(`--cpus must be a CPU list such as 1 or 0-1, got '${value}'`);
  const cpus = parseCpuList(value);
  const allowed = allowedCpus();
  const bad = cpus.filter((cpu) => !allowed.includes(cpu));
  if (cpus.length === 0 || bad.length > 0) {
    throw new UsageError(`--cpus must be among this machine's CPUs ${allowed.join(',')}, got '${value}'`);
  }
  return cpus;
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const handler = (name: NodeJS.Signals) => {
      for (const s of signals) process.off(s, handler);
      resolve(name);
    };
    for (const s of signals) process.on(s, handler);
  });
}

export const nginxCommand: Command = {
  name: 'nginx',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      payload: { type: 'string' },
      workers: { type: 'string' },
      preset: { type: 'string' },
      connections: { type: 'string' },
      backlog: { type: 'string' },
      reuseport: { type: 'boolean' },
      cpus: { type: 'string' },
      'print-config': { type: 'boolean' },
      'ready-json': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const options = {
      port: intOption(values.port, 'port', 8090, 1, 65535),
      host: values.host ?? '127.0.0.1',
      payloadBytes: intOption(values.payload, 'payload', 40, 0, 1024 * 1024 * 1024),
      workers: intOption(values.workers, 'workers', 1, 1, 1024),
      preset: choiceOption(values.preset, 'preset', NGINX_PRESETS, 'stock'),
      connections: intOption(values.connections, 'connections', DEFAULT_CONNECTIONS, 1, 1_000_000),
      backlog: intOption(values.backlog, 'backlog', DEFAULT_BACKLOG, 1, 1_000_000),
      reuseport: values.reuseport ?? false,
      cpus: cpusOption(values.cpus),
    };
    if (values.json && !values['print-config']) throw new UsageError('--json only goes with --print-config');

    if (values['print-config']) {
      const asRoot = process.getuid?.() === 0;
      const rendered = renderNginxConfig({
        ...options,
        // A real run gets a fresh mkdtemp prefix; this placeholder stands for it.
        prefix: '/tmp/scaleup-nginx-XXXXXX',
        user: asRoot ? await defaultWorkerUser() : undefined,
        nofileLimit: await readNofileHardLimit(),
      });
      const text = values.json
        ? `${JSON.stringify({ text: rendered.text, settings: rendered.settings }, null, 2)}\n`
        : rendered.text;
      process.stdout.write(text);
      return 0;
    }

    const stopSignal = waitForStopSignal();
    const nginx = await startNginx(options);
    const workers = await nginx.workerPids();
    const { settings } = nginx;
    if (values['ready-json']) {
      const ready = {
        url: nginx.url,
        version: nginx.version,
        masterPid: nginx.masterPid,
        workerPids: workers,
        settings,
      };
      process.stderr.write(`${NGINX_READY_LINE} ${JSON.stringify(ready)}\n`);
    }
    process.stdout.write(
      [
        `nginx ${nginx.version} (${nginx.nginxPath}), preset ${settings.preset}: ${nginx.url}`,
        `  payload ${settings.payloadBytes} bytes, ${settings.workerProcesses} worker(s), worker_connections ${settings.workerConnections}, backlog ${settings.backlog}${settings.reuseport ? ', reuseport' : ''}`,
        `  master pid ${nginx.masterPid}, worker pids ${workers.join(', ')}${settings.cpuPinning ? `, pinned to CPUs ${settings.cpuPinning.cpus.join(',')}` : ''}`,
        `  config ${nginx.configPath}`,
        `  error log ${nginx.errorLogPath}`,
        ...nginx.configWarnings.map((line) => `  ${line}`),
        'Ctrl-C to stop',
        '',
      ].join('\n'),
    );
    const outcome = await Promise.race([stopSignal, nginx.exited.then(() => 'exited' as const)]);
    // stop() also reports an nginx that died on its own, with its error log.
    const report = await nginx.stop();
    const reason = outcome === 'exited' ? 'nginx exited' : outcome;
    process.stdout.write(
      `stopped (${reason}; master ended by ${report.stoppedBy} in ${report.durationMs} ms)\n`,
    );
    for (const line of report.errorLogProblems) process.stdout.write(`  error log: ${line}\n`);
    return 0;
  },
};
