import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureHarnessOverhead } from '@scaleup/bench';
import { LOAD_TOOLS, type LoadToolName } from '@scaleup/core';
import { choiceOption, intOption, numberOption, parseCommandArgs } from '../args.ts';
import { formatRate } from './bench-output.ts';

const HELP = `usage: pnpm bench overhead [--tool h2load] [--pairs 7] [--duration 5] [--connections 128]
                          [--threads 1] [--payload 40] [--resource fixed|file] [--json]

Measures the harness's own overhead: the same load against the same scaleup server (pinned as
in the default topology), once through the driver and once exactly as a user would type it
(taskset -c N tool args), in interleaved pairs with alternating order. Prints both medians and
the paired ratio harness / by-hand with its 95% CI (1.00 = no overhead).`;

export async function runOverheadCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    tool: { type: 'string' },
    pairs: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    threads: { type: 'string' },
    payload: { type: 'string' },
    resource: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const workDir = await mkdtemp(join(tmpdir(), 'scaleup-overhead-'));
  try {
    const report = await measureHarnessOverhead({
      tool: choiceOption<LoadToolName>(values.tool, 'tool', LOAD_TOOLS, 'h2load'),
      pairs: intOption(values.pairs, 'pairs', 7, 1, 100),
      durationSeconds: numberOption(values.duration, 'duration', 5, 0.5),
      connections: intOption(values.connections, 'connections', 128, 1),
      threads: intOption(values.threads, 'threads', 1, 1),
      payloadBytes: intOption(values.payload, 'payload', 40, 0),
      resource: choiceOption(values.resource, 'resource', ['fixed', 'file'] as const, 'fixed'),
      workDir,
      onPair: (pair, i) =>
        process.stderr.write(
          `pair ${i + 1}: harness ${formatRate(pair.harnessRequestsPerSecond)} req/s, by hand ${formatRate(pair.byHandRequestsPerSecond)} req/s (${pair.harnessFirst ? 'harness' : 'by hand'} first)\n`,
        ),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const r = report.ratio;
    process.stdout.write(
      [
        `by hand:  ${report.byHandCommand.join(' ')}`,
        `harness:  median ${formatRate(report.harness.median)} req/s [${formatRate(report.harness.ciLow)}, ${formatRate(report.harness.ciHigh)}], cv ${(report.harness.cv * 100).toFixed(1)}%`,
        `by hand:  median ${formatRate(report.byHand.median)} req/s [${formatRate(report.byHand.ciLow)}, ${formatRate(report.byHand.ciHigh)}], cv ${(report.byHand.cv * 100).toFixed(1)}%`,
        `harness / by hand: ${r.ratio.toFixed(3)} [${r.ciLow.toFixed(3)}, ${r.ciHigh.toFixed(3)}] over ${r.n} interleaved pairs`,
      ].join('\n') + '\n',
    );
    return 0;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
