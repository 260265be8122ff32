/**
 * Fuzz target "decoders": results.json, suites, profiles and import manifests come from other
 * machines. Whatever they hold, a decoder returns a value or throws its documented error with a
 * one-line message; nothing else escapes and nothing takes unbounded time. Seeds are real files
 * of the repository; test/fixtures/fuzz/ keeps inputs that once failed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseImportManifest } from '../../src/manifest.ts';
import { parseResults, ResultsSchemaError, serializeResults } from '../../src/results.ts';
import { parseProfiles, parseSuite, ScenarioError } from '../../src/scenario.ts';
import { FuzzTarget, mutated, mutatedTree } from './budget.ts';

const repo = new URL('../../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8');

const RESULTS_SEEDS = [
  read('packages/core/test/fixtures/smoke-results-v1.json'),
  read('results/seed-2013/results.json'),
];
const SUITE_SEEDS = [
  read('scenarios/seed.json'),
  read('scenarios/zero-copy.json'),
  read('scenarios/seed-2013/suite.json'),
  read('scenarios/examples/custom-server.json'),
];
const PROFILE_SEEDS = [read('scenarios/profiles.json')];
const MANIFEST_SEEDS = [read('packages/bench/test/fixtures/import/manifest.json')];

/** Regression inputs: `<decoder>-<name>.json` (text, not necessarily valid JSON). */
const corpusDir = new URL('../fixtures/fuzz/', import.meta.url);
function corpus(decoder: string): string[] {
  return readdirSync(corpusDir)
    .filter((name) => name.startsWith(`${decoder}-`))
    .sort()
    .map((name) => readFileSync(new URL(name, corpusDir), 'utf8'));
}

/** Runs `decode`; a rejection must be `errorType` with a message of one line. */
function decodesOrRejects<T>(decode: () => T, errorType: new (...args: never[]) => Error): T | undefined {
  try {
    return decode();
  } catch (error) {
    expect(error).toBeInstanceOf(errorType);
    expect((error as Error).message).not.toMatch(/[\n\r\u2028\u2029]/);
    return undefined;
  }
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A results file that reads back must also write, and read back the same. */
function resultsRoundTrip(input: unknown): void {
  const results = decodesOrRejects(() => parseResults(input, 'fuzz.json'), ResultsSchemaError);
  if (results === undefined) return;
  const text = serializeResults(results);
  expect(parseResults(text, 'again.json')).toEqual(JSON.parse(text));
}

const target = new FuzzTarget('decoders', 6);

describe('fuzz: results, suite, profile and manifest decoders', () => {
  it('parseResults on edited results.json text', { timeout: target.timeoutMs }, () => {
    target.check('results-text', mutated([...RESULTS_SEEDS, ...corpus('results')]), resultsRoundTrip, {
      shortRuns: 60,
      examples: corpus('results'),
    });
  });

  it('parseResults on structurally edited results', { timeout: target.timeoutMs }, () => {
    target.check('results-tree', mutatedTree(RESULTS_SEEDS), resultsRoundTrip, { shortRuns: 60 });
  });

  it('parseSuite on edited suites, as text and as trees', { timeout: target.timeoutMs }, () => {
    const input = fc.oneof(
      mutated([...SUITE_SEEDS, ...corpus('suite')]).map(jsonOrUndefined),
      mutatedTree(SUITE_SEEDS),
    );
    target.check(
      'suite',
      input,
      (value) => void decodesOrRejects(() => parseSuite(value, 'suite.json'), ScenarioError),
      {
        examples: corpus('suite').map(jsonOrUndefined),
      },
    );
  });

  it('parseProfiles on edited profile files', { timeout: target.timeoutMs }, () => {
    const input = fc.oneof(mutated(PROFILE_SEEDS).map(jsonOrUndefined), mutatedTree(PROFILE_SEEDS));
    target.check(
      'profiles',
      input,
      (value) => void decodesOrRejects(() => parseProfiles(value, 'profiles.json'), ScenarioError),
      {
        examples: corpus('profiles').map(jsonOrUndefined),
      },
    );
  });

  it('parseImportManifest on edited manifests', { timeout: target.timeoutMs }, () => {
    const input = fc.oneof(mutated(MANIFEST_SEEDS).map(jsonOrUndefined), mutatedTree(MANIFEST_SEEDS));
    target.check(
      'manifest',
      input,
      (value) => void decodesOrRejects(() => parseImportManifest(value, 'manifest.json'), ScenarioError),
      { examples: corpus('manifest').map(jsonOrUndefined) },
    );
  });

  it('every decoder on arbitrary JSON values', { timeout: target.timeoutMs }, () => {
    target.check('any-json', fc.jsonValue({ maxDepth: 4 }), (value) => {
      resultsRoundTrip(value);
      decodesOrRejects(() => parseSuite(value, 's'), ScenarioError);
      decodesOrRejects(() => parseProfiles(value, 'p'), ScenarioError);
      decodesOrRejects(() => parseImportManifest(value, 'm'), ScenarioError);
    });
  });
});
