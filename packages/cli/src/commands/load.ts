import type { Command } from '../command.ts';

export const loadCommand: Command = {
  name: 'load',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup load: not implemented yet\n');
    return 2;
  },
};
