import { UsageError } from '@scaleup/core';
import type { Command } from './command.ts';
import { benchCommand } from './commands/bench.ts';
import { compareCommand } from './commands/compare.ts';
import { loadCommand } from './commands/load.ts';
import { nginxCommand } from './commands/nginx.ts';
import { preflightCommand } from './commands/preflight.ts';
import { reportCommand } from './commands/report.ts';
import { serverCommand } from './commands/server.ts';

const commands: Command[] = [
  serverCommand,
  nginxCommand,
  loadCommand,
  benchCommand,
  reportCommand,
  compareCommand,
  preflightCommand,
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
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(
      `scaleup: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')})\n`,
    );
    return 2;
  }
  try {
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
