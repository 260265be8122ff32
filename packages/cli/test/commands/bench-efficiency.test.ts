import { readFileSync } from 'node:fs';
import { deriveSummaries, parseResults, type ResultsFile } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { summaryTable } from '../../src/commands/bench-output.ts';

const sample = () =>
  parseResults(readFileSync(new URL('../../../../results/sample/results.json', import.meta.url), 'utf8'));

/** The sample run with a server CPU cost per response on every repetition: nginx 10, ours 7. */
function withCosts(results: ResultsFile): ResultsFile {
  for (const s of results.scenarios) {
    for (const r of s.repetitions) {
      r.cost = {
        serverCpuMicrosPerResponse: s.baseline ? 10 : 7,
        toolCpuMicrosPerResponse: null,
        serverSyscallsPerResponse: null,
        serverContextSwitchesPerResponse: null,
      };
    }
  }
  deriveSummaries(results);
  return results;
}

describe('the bench summary table with costs', () => {
  it('has no efficiency column for results without costs', () => {
    const table = summaryTable(sample());
    expect(table.split('\n')[0]).not.toMatch(/efficiency/);
    expect(table).not.toMatch(/^efficiency:/m);
  });

  it('shows the efficiency to nginx beside the throughput ratio, with its interval', () => {
    const lines = summaryTable(withCosts(sample())).split('\n');
    const header = lines[0]!.split(/\s{2,}/);
    expect(header.slice(7, 11)).toEqual(['vs nginx', 'interval', 'efficiency', 'interval']);
    const measured = sample().scenarios.find((s) => !s.baseline && s.skipped === null)!;
    const row = lines.find((l) => l.startsWith(`${measured.id} `))!;
    expect(row).toMatch(/ >=1\.20x +\[1\.12 – 1\.23\] 95% +1\.43x +\[1\.43 – 1\.43\] 95% /);
    const baseline = lines.find((l) => l.startsWith('nginx'))!;
    expect(baseline.match(/baseline/g)).toHaveLength(2);
    expect(lines).toContain(
      "efficiency: nginx's server CPU per successful response over this server's, median of per-round ratios (above 1: cheaper); never a lower bound",
    );
  });
});

describe('the bench summary table under a CPU quota', () => {
  it('says absolute responses/s are per share of a core only when the servers ran under a quota', () => {
    expect(summaryTable(sample())).not.toMatch(/CPU quota/);
    const capped = sample();
    capped.topology.serverCpuQuotaCores = 0.75;
    expect(summaryTable(capped).split('\n')).toContain(
      'Every server ran under a CPU quota of 0.75 CPU: absolute responses/s are per that share of a core, not what the machine can serve; the ratio to nginx and the efficiency are what compare across machines.',
    );
  });
});
