import type { Command } from '../command.ts';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup compare: not implemented yet\n');
    return 2;
  },
};
