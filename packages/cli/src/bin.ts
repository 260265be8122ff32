#!/usr/bin/env node
import { watchLauncher } from '@scaleup/core/io';
import { main } from './main.ts';

// Die with the launcher: a SIGTERM to `pnpm bench` reaches pnpm only, so when the process that
// started us goes away we stop exactly as on SIGTERM (servers, workers, nginx and tools with us).
watchLauncher((why) => {
  process.stderr.write(`scaleup: ${why}; stopping as on SIGTERM\n`);
  process.kill(process.pid, 'SIGTERM');
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`scaleup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
