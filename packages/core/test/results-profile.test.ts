import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldPerfScript, profileBreakdown } from '../src/profile.ts';
import { parseResults, ResultsSchemaError, serializeResults } from '../src/results.ts';
import { type ScenarioProfile, ScenarioProfileSchema } from '../src/results-schema.ts';

// A real results.json from before profiles existed (schema version 1).
const v1 = readFileSync(new URL('fixtures/smoke-results-v1.json', import.meta.url), 'utf8');
const perfScript = readFileSync(
  new URL('fixtures/perf/scaleup-net-40B.perf-script.txt', import.meta.url),
  'utf8',
);

function profile(): ScenarioProfile {
  const breakdown = profileBreakdown(foldPerfScript(perfScript));
  return {
    folded: 'profiles/2a.folded',
    samples: breakdown.samples,
    sampleHz: 999,
    event: 'cpu-clock',
    breakdown,
    tool: null,
  };
}

describe('results.json: the CPU profile of a result', () => {
  it('reads files written before profiles existed with no profile and no problem', () => {
    const results = parseResults(v1);
    for (const scenario of results.scenarios) {
      expect(scenario.profile).toBeNull();
      expect(scenario.profileProblem).toBeNull();
    }
  });

  it('keeps a profile and a problem through a write and a read', () => {
    const results = parseResults(v1);
    const first = results.scenarios[0]!;
    first.profile = {
      ...profile(),
      tool: { folded: 'profiles/2a.tool.folded', samples: 3, breakdown: profile().breakdown },
    };
    first.profileProblem = 'load tool not profiled: it did not run on this machine';
    const again = parseResults(serializeResults(results));
    expect(again.scenarios[0]!.profile).toEqual(first.profile);
    expect(again.scenarios[0]!.profileProblem).toBe(first.profileProblem);
  });

  it('refuses a profile without its folded file or with a fraction out of range', () => {
    const { folded: _, ...withoutFile } = profile();
    expect(ScenarioProfileSchema.safeParse(withoutFile).success).toBe(false);
    const wrong = profile();
    wrong.breakdown.kernelFraction = 1.5;
    const results = parseResults(v1);
    results.scenarios[0]!.profile = wrong;
    expect(() => serializeResults(results)).toThrow(ResultsSchemaError);
  });
});
