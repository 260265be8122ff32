import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { importCaptures, REPO_DIR } from '@scaleup/bench';
import { UsageError } from '@scaleup/core';
import { writeReports } from '@scaleup/report';
import { parseCommandArgs } from '../args.ts';
import { summaryTable } from './bench-output.ts';

const HELP = `usage: pnpm bench import MANIFEST --out DIR [--no-report] [--json]

Turns the outputs of load tools run by hand (any tool 'pnpm load parse' reads) into an ordinary
results.json in DIR, judged like a measured run (an all-404 or all-failed capture is an invalid
repetition with its reason, never throughput), then writes the reports. The manifest (JSON) names
the machine, the tool and its load, and per scenario the server and one capture file per
repetition; see docs/results.md. The manifest and its captures are data from anywhere: a
capture is a regular file of at most 64 MiB, named by a relative path inside the manifest's
directory, and it must not lead out of it through a symlink (docs/security.md). Unknown keys,
bad values and captures that break these rules are each reported on a line of their own, with
exit code 2, and nothing is written. (A subcommand of bench: pnpm 12's built-in 'import'
shadows a script of that name.)

  --out DIR      where results.json, raw/ and the reports go (required)
  --no-report    stop after results.json
  --json         print results.json to stdout
  -h, --help     this text

Exit status: 0 every repetition valid; 1 some capture is an invalid repetition; 2 bad input.`;

export async function runImportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      out: { type: 'string' },
      report: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('give exactly one MANIFEST (see pnpm bench import --help)');
  if (values.out === undefined) throw new UsageError('give --out DIR: where the imported run goes');
  const pkg = JSON.parse(await readFile(join(REPO_DIR, 'package.json'), 'utf8')) as { version: string };
  const outDir = resolve(values.out);
  const results = await importCaptures({
    manifestPath: resolve(positionals[0]!),
    outDir,
    argv: ['bench', 'import', ...argv],
    scaleupVersion: pkg.version,
  });
  process.stderr.write(`${summaryTable(results)}\n\nresults: ${join(outDir, 'results.json')}\n`);
  if (values.report !== false) {
    const written = await writeReports(join(outDir, 'results.json'), outDir);
    process.stderr.write(`reports: ${Object.values(written).join('\n         ')}\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  const invalid = results.scenarios.flatMap((s) =>
    s.repetitions
      .filter((r) => !r.verdict.valid)
      .map((r) => `${s.id} capture ${r.round + 1}: ${r.verdict.reasons.join('; ')}`),
  );
  for (const line of invalid) process.stderr.write(`problem: ${line}\n`);
  return invalid.length === 0 ? 0 : 1;
}
