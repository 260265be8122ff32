#!/usr/bin/env node
import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`scaleup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
