#!/usr/bin/env node
// Standalone entry with the same behaviour as `scaleup server`, so the server (and its tests) run
// without loading the CLI's other commands.
import { UsageError } from '@scaleup/core';
import { runServer } from './master.ts';
import { parseServerArgs, SERVER_USAGE } from './options.ts';

async function main(argv: string[]): Promise<number> {
  const options = parseServerArgs(argv);
  if (options === 'help') {
    process.stdout.write(`${SERVER_USAGE}\n`);
    return 0;
  }
  return runServer(options);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scaleup server: ${message}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
