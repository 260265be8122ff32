import { UsageError } from '@scaleup/core';
import { writeComparison } from '@scaleup/report';
import { parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `usage: scaleup compare <run A> <run B> [<run C> ...] [--out DIR]

Puts several runs (typically one per machine) side by side and writes comparison.xlsx and
comparison.pdf into --out DIR (default: the current directory), then prints the paths. Each run
is a run directory or a results.json. Scenarios line up by id (or their compareAs) and payload.
Per scenario it shows every machine's medians with their intervals and its ratio to nginx
measured on the same machine (the figure that transfers across machines), and beside it, for
runs that recorded cost per response, its efficiency to nginx (nginx's server CPU per response
over this server's, with its interval; "n/a" for a run without cost data, never 0).

On stderr: one line per protocol difference ("connections: 16 vs 48": the runs are then not
like for like and no change is judged); otherwise, per scenario, each later run against the
first: "no change detected" when the noise explains the difference, or "+12.0% [8.1%, 15.2%]";
then the scenarios not every run measured, and the environment fields that differ (in the files);
then what the efficiency means, which runs have no cost data, and, for a run whose servers ran
under a CPU quota, that its absolute figures are per that share of a core.

  --out DIR   directory to write comparison.xlsx and comparison.pdf into (created if missing)
  -h, --help  show this help`;

export const compareCommand: Command = {
  name: 'compare',
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
    if (positionals.length < 2) {
      throw new UsageError(`expected at least two runs to compare, got ${positionals.length} (see --help)`);
    }
    const result = await writeComparison(positionals, values.out ?? '.');
    if (result.protocol.length > 0) {
      process.stderr.write('different protocols, so the ratios are not like for like:\n');
      for (const line of result.protocol) process.stderr.write(`  ${line}\n`);
    }
    for (const line of result.changes) process.stderr.write(`${line}\n`);
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    for (const note of result.costs) process.stderr.write(`note: ${note}\n`);
    process.stdout.write(`${result.xlsx}\n${result.pdf}\n`);
    return 0;
  },
};
