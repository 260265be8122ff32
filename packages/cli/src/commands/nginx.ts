import type { Command } from '../command.ts';

export const nginxCommand: Command = {
  name: 'nginx',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup nginx: not implemented yet\n');
    return 2;
  },
};
