/**
 * Fuzz target "output-parsers": a load tool's output is outside input (a capture from another
 * machine, a tool killed mid-line, a newer version). Whatever it prints, parse() returns a result
 * the results schema accepts, so a run is never lost at write time, and never throws. Seeds are
 * the golden fixtures; test/fixtures/fuzz/<tool>-*.txt keeps inputs that once failed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { LoadResultSchema, type LoadToolName } from '@scaleup/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FuzzTarget, mutated, mutatedTree } from '../../../core/test/fuzz/budget.ts';
import type { LoadToolAdapter } from '../../src/adapter.ts';
import { autocannon } from '../../src/adapters/autocannon.ts';
import { h2load } from '../../src/adapters/h2load.ts';
import { openloop } from '../../src/adapters/openloop.ts';
import { weighttp } from '../../src/adapters/weighttp.ts';
import { wrk } from '../../src/adapters/wrk.ts';

const fixtures = new URL('../fixtures/', import.meta.url);
function texts(dir: URL, keep: (name: string) => boolean): string[] {
  return readdirSync(dir)
    .filter(keep)
    .sort()
    .map((name) => readFileSync(new URL(name, dir), 'utf8'));
}
const seedsOf = (tool: LoadToolName) => texts(new URL(`${tool}/`, fixtures), (n) => n.endsWith('.txt'));
const regressionsOf = (tool: LoadToolName) =>
  texts(new URL('fuzz/', fixtures), (n) => n.startsWith(`${tool}-`) && n.endsWith('.txt'));

/** A seed whose machine-readable line (`MARK {json}`) got structural edits, the rest kept. */
function editedJsonLine(seeds: readonly string[]): fc.Arbitrary<string> {
  const withJson = seeds.flatMap((seed) => {
    const match = /^(SCALEUP_[A-Z_]+ )(\{.*\})$/m.exec(seed);
    return match === null
      ? []
      : [{ seed, mark: match[1] as string, json: match[2] as string, line: match[0] }];
  });
  if (withJson.length === 0) return fc.constant(seeds[0] as string);
  return fc
    .constantFrom(...withJson)
    .chain((target) =>
      mutatedTree([target.json]).map((tree) =>
        target.seed.replace(target.line, () => target.mark + JSON.stringify(tree)),
      ),
    );
}

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | null | undefined;
  expectedBodyBytes: number | undefined;
  inFlightResponses: number | undefined;
}

function runs(seeds: readonly string[]): fc.Arbitrary<Run> {
  const output = fc.oneof(
    { weight: 4, arbitrary: mutated(seeds) },
    { weight: 2, arbitrary: editedJsonLine(seeds) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
  );
  return fc
    .record({
      text: output,
      split: fc.option(fc.nat(), { nil: undefined }),
      exitCode: fc.constantFrom<number | null | undefined>(0, 1, 2, 124, 136, 137, 143, -1, null, undefined),
      expectedBodyBytes: fc.option(fc.oneof(fc.constantFrom(0, 40, 10_000), fc.nat()), { nil: undefined }),
      inFlightResponses: fc.option(fc.oneof(fc.constantFrom(0, 16), fc.nat()), { nil: undefined }),
    })
    .map(({ text, split, exitCode, expectedBodyBytes, inFlightResponses }) => {
      // The runner keeps stdout and stderr apart; a capture holds both, one after the other.
      const at = split === undefined ? text.length : split % (text.length + 1);
      return {
        stdout: text.slice(0, at),
        stderr: text.slice(at),
        exitCode,
        expectedBodyBytes,
        inFlightResponses,
      };
    });
}

function checkParse(adapter: LoadToolAdapter, run: Run): void {
  const result = adapter.parse(run.stdout, run.stderr, run.exitCode, {
    toolVersion: 'fuzz',
    expectedBodyBytes: run.expectedBodyBytes,
    inFlightResponses: run.inFlightResponses,
  });
  const checked = LoadResultSchema.safeParse(result);
  expect(checked.success, checked.error?.message).toBe(true);
  expect(result.tool).toBe(adapter.name);
  // A run the tool did not finish must say why.
  if (!result.completed) expect(result.errors.length).toBeGreaterThan(0);
}

const ADAPTERS = [wrk, h2load, autocannon, weighttp, openloop] as const;
const target = new FuzzTarget('output-parsers', ADAPTERS.length);

describe('fuzz: load tool output parsers', () => {
  for (const adapter of ADAPTERS) {
    it(`${adapter.name} parse() returns a valid result for any output`, { timeout: target.timeoutMs }, () => {
      const seeds = [...seedsOf(adapter.name), ...regressionsOf(adapter.name)];
      const regressions = regressionsOf(adapter.name).map(
        (text): Run => ({
          stdout: text,
          stderr: '',
          exitCode: 0,
          expectedBodyBytes: undefined,
          inFlightResponses: undefined,
        }),
      );
      target.check(adapter.name, runs(seeds), (run) => checkParse(adapter, run), {
        shortRuns: 250,
        examples: regressions,
      });
    });
  }
});
