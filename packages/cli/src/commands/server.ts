import { parseServerArgs, runServer, SERVER_USAGE } from '@scaleup/server';
import type { Command } from '../command.ts';

export const serverCommand: Command = {
  name: 'server',
  async run(argv) {
    const options = parseServerArgs(argv);
    if (options === 'help') {
      process.stdout.write(`${SERVER_USAGE}\n`);
      return 0;
    }
    return runServer(options);
  },
};
