import type { Command } from '../command.ts';

export const preflightCommand: Command = {
  name: 'preflight',
  summary: 'not implemented yet',
  async run() {
    process.stderr.write('scaleup preflight: not implemented yet\n');
    return 2;
  },
};
