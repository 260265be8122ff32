#!/usr/bin/env node
import { UsageError } from '@scaleup/core';
import { watchLauncher } from '@scaleup/core/io';
import type { Command } from './command.ts';
import { loadCommand } from './commands/load.ts';
import { nginxCommand } from './commands/nginx.ts';
import { serverCommand } from './commands/server.ts';

/**
 * What another host runs, and nothing more: the bundle shipped over ssh is built from this entry,
 * so it must not pull in the report's chart stack or the bench orchestration (see hosts/bundle).
 */
const commands: Record<string, Command> = { load: loadCommand, nginx: nginxCommand, server: serverCommand };

watchLauncher((why) => {
  process.stderr.write(`scaleup: ${why}; stopping as on SIGTERM\n`);
  process.kill(process.pid, 'SIGTERM');
});

async function remoteMain(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : commands[name];
  if (command === undefined) {
    process.stderr.write(
      `scaleup (remote bundle): unknown command '${name}' (${Object.keys(commands).join(', ')})\n`,
    );
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scaleup ${name}: ${message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

remoteMain(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`scaleup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
