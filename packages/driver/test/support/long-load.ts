// Runs one long load through the driver; the kill test SIGKILLs this process mid-run.
// The URL comes from the environment so that this process's command line does not match it.
import type { LoadToolName } from '@scaleup/core';
import { runLoad } from '../../src/index.ts';

const tool = process.argv[2] as LoadToolName;
await runLoad(
  {
    url: process.env.LONG_LOAD_URL ?? '',
    durationSeconds: 20,
    connections: 4,
    threads: 1,
    keepAlive: true,
    timeoutSeconds: 25,
  },
  { tool, onSpawn: (pid) => process.stdout.write(`spawned ${pid}\n`) },
);
