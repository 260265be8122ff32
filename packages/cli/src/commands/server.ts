import type { Command } from '../command.ts';

export const serverCommand: Command = {
  name: 'server',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup server: not implemented yet\n');
    return 2;
  },
};
