import type { Command } from '../command.ts';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup bench: not implemented yet\n');
    return 2;
  },
};
