import { UsageError } from '@scaleup/core';
import { writeReports } from '@scaleup/report';
import { parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: scaleup report <run directory | results.json> [--out DIR]

Regenerates results.xlsx and results.pdf from a run's results.json, beside it or in --out DIR,
and prints the paths written. The output depends only on results.json: the same file gives
byte-identical reports on any machine and in any time zone.

  --out DIR   write the reports into DIR (created if missing) instead of the run directory
  -h, --help  show this help`;

export const reportCommand: Command = {
  name: 'report',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new UsageError(
        `expected one run directory or results.json, got ${positionals.length === 0 ? 'none' : positionals.join(' ')} (see --help)`,
      );
    }
    const paths = await writeReports(positionals[0]!, values.out);
    process.stdout.write(`${paths.xlsx}\n${paths.pdf}\n`);
    return 0;
  },
};
