import { UsageError } from '@scaleup/core';
import type { Command } from './command.ts';

interface CommandEntry {
  name: string;
  summary: string;
  /** Loaded on use: `pnpm server` should not pay for the report's chart stack, nor its workers. */
  load(): Promise<Command>;
}

const commands: CommandEntry[] = [
  {
    name: 'server',
    summary: 'run the shared-socket multi-process HTTP server (the seed design)',
    load: async () => (await import('./commands/server.ts')).serverCommand,
  },
  {
    name: 'nginx',
    summary: 'run a configured nginx in the foreground (presets stock, tuned)',
    load: async () => (await import('./commands/nginx.ts')).nginxCommand,
  },
  {
    name: 'load',
    summary:
      'run one bounded load with h2load, wrk, autocannon or weighttp; parse captured output; list tools',
    load: async () => (await import('./commands/load.ts')).loadCommand,
  },
  {
    name: 'bench',
    summary: 'run the benchmark suite (sweeps, other hosts) and write results.json and the reports',
    load: async () => (await import('./commands/bench.ts')).benchCommand,
  },
  {
    name: 'report',
    summary: 'regenerate results.xlsx, .pdf, .html and .md from a results.json',
    load: async () => (await import('./commands/report.ts')).reportCommand,
  },
  {
    name: 'compare',
    summary: 'compare runs from several machines: medians, CIs, ratios to nginx, environment diff',
    load: async () => (await import('./commands/compare.ts')).compareCommand,
  },
  {
    name: 'profile',
    summary: "sample running processes' CPU with perf: folded stacks and where the time goes",
    load: async () => (await import('./commands/profile.ts')).profileCommand,
  },
  {
    name: 'hosts',
    summary: 'check other hosts before a run: ssh, node, tools, tuning, clock, what would be copied',
    load: async () => (await import('./commands/hosts.ts')).hostsCommand,
  },
  {
    name: 'preflight',
    summary: "check this machine against the seed's tuning and the run's needs (changes nothing)",
    load: async () => (await import('./commands/preflight.ts')).preflightCommand,
  },
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: scaleup <command> [options]   (from the repo: pnpm <command> [options])',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'scaleup <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    process.stderr.write(
      `scaleup: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')})\n`,
    );
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`scaleup ${name}: ${error.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scaleup ${name}: ${message}\n`);
    if (process.env.SCALEUP_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
