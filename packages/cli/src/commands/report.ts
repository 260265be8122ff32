import type { Command } from '../command.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup report: not implemented yet\n');
    return 2;
  },
};
