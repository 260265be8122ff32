import { UsageError } from '@scaleup/core';
import { REPORT_FORMATS, writeReports } from '@scaleup/report';
import { choiceListOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: scaleup report <run directory | results.json> [--out DIR] [--format LIST]

Regenerates results.xlsx, results.pdf, results.html and results.md from a run's results.json,
beside it or in --out DIR, and prints the paths written. The output depends only on
results.json: the same file gives byte-identical reports on any machine and in any time zone.

  --out DIR       write the reports into DIR (created if missing) instead of the run directory
  --format LIST   comma list of ${REPORT_FORMATS.join(', ')} (default: all); html is one
                  self-contained page, md a Markdown summary to paste into an issue or PR
  -h, --help      show this help`;

export const reportCommand: Command = {
  name: 'report',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { out: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
    const formats = choiceListOption(values.format, 'format', REPORT_FORMATS);
    const paths = await writeReports(positionals[0]!, values.out, formats);
    process.stdout.write(`${Object.values(paths).join('\n')}\n`);
    return 0;
  },
};
